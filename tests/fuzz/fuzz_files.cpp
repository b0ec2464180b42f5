#include "tests/fuzz/fuzz_files.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "common/model/generation.hpp"

namespace llama4::fuzz {

const std::filesystem::path& scratch_directory() {
  static const std::filesystem::path directory = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "llama4-fuzz-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_directory(), ignored);
    });
    return std::filesystem::path(pattern);
  }();
  return directory;
}

std::filesystem::path write_scratch_file(const std::string& name, std::string_view bytes) {
  const std::filesystem::path path = scratch_directory() / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) std::abort();  // the scratch directory itself failing is not a finding
  return path;
}

std::vector<std::string_view> split_files(std::string_view data) {
  std::vector<std::string_view> parts;
  while (true) {
    const std::size_t at = data.find(kFileSeparator);
    parts.push_back(data.substr(0, at));
    if (at == std::string_view::npos) return parts;
    data.remove_prefix(at + kFileSeparator.size());
  }
}

void run_a_few_tokens(const Model& model) {
  const ModelConfig& config = model.config();
  KVCache cache = model.make_cache(std::min<std::int64_t>(config.max_position_embeddings, 8));
  const std::int64_t count = std::min<std::int64_t>(cache.context_length, 3);
  std::vector<std::int32_t> tokens;
  for (std::int64_t i = 0; i < count; ++i)
    tokens.push_back(static_cast<std::int32_t>((i * 7919) % config.vocab_size));
  const Tensor logits = model.forward(tokens, cache, LogitRows::all);
  if (logits.dim(0) != count || logits.dim(1) != config.vocab_size) __builtin_trap();
  check_logits_are_finite(logits, 0);
}

}  // namespace llama4::fuzz
