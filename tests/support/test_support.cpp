#include "tests/support/test_support.hpp"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>

#include "common/debugging/data_paths.hpp"
#include "common/tensors/error.hpp"

namespace llama4::testing {

TemporaryDirectory::TemporaryDirectory() {
  std::string pattern = (std::filesystem::temp_directory_path() / "llama4-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) fail("cannot create a temporary directory");
  path_ = pattern;
}

TemporaryDirectory::~TemporaryDirectory() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) fail("cannot write ", path);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read ", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

CommandResult run_command(const std::string& command, bool with_errors) {
  CommandResult result{0, ""};
  FILE* pipe = ::popen((command + (with_errors ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "could not run: " << command;
    return CommandResult{-1, ""};
  }
  char buffer[4096];
  std::size_t count;
  while ((count = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
    result.output.append(buffer, count);
  result.status = WEXITSTATUS(::pclose(pipe));
  return result;
}

std::size_t count_occurrences(std::string_view text, std::string_view needle) {
  std::size_t count = 0;
  for (std::size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

std::string comma_separated(const std::vector<std::int32_t>& ids) {
  std::string list;
  for (const std::int32_t id : ids) {
    if (!list.empty()) list += ',';
    list += std::to_string(id);
  }
  return list;
}

Tensor random_normal_matrix(std::int64_t rows, std::int64_t columns, std::uint32_t seed,
                            float mean) {
  std::mt19937 random(seed);
  std::normal_distribution<float> normal(mean, 1.0f);
  std::vector<float> values(static_cast<std::size_t>(rows * columns));
  for (float& v : values) v = normal(random);
  return Tensor::from_values({rows, columns}, values);
}

Tensor read_dumped_logits(const std::filesystem::path& path, std::int64_t rows,
                          std::int64_t vocab) {
  const std::string bytes = read_file(path);
  Tensor logits = Tensor::zeros({rows, vocab});
  if (bytes.size() != logits.nbytes()) {
    ADD_FAILURE() << path << " holds " << bytes.size() << " bytes, not [" << rows << ", " << vocab
                  << "] float32 (" << logits.nbytes() << " bytes)";
    return logits;
  }
  std::memcpy(logits.mutable_data<float>(), bytes.data(), bytes.size());
  return logits;
}

std::string safetensors_bytes(std::string_view header, std::string_view data,
                              long long claimed_header_length) {
  const unsigned long long length = claimed_header_length >= 0
                                        ? static_cast<unsigned long long>(claimed_header_length)
                                        : header.size();
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  bytes.append(header);
  bytes.append(data);
  return bytes;
}

const SafetensorsFile& golden_activations(const char* model_name) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<SafetensorsFile>> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[model_name];
  if (!slot) slot = std::make_unique<SafetensorsFile>(golden_activations_path(model_name));
  return *slot;
}

::testing::AssertionResult matches_golden(const Tensor& ours, const Tensor& golden,
                                          Tolerance tolerance) {
  const Comparison comparison = compare(ours, golden, tolerance);
  if (comparison.within_tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << summary(comparison, golden, tolerance);
}

}  // namespace llama4::testing
