// Helpers shared by every test suite.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/debugging/data_paths.hpp"
#include "common/debugging/golden.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4::testing {

// A fresh directory under /tmp, removed with everything in it when the object goes away.
class TemporaryDirectory {
 public:
  TemporaryDirectory();
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, std::string_view bytes);
std::string read_file(const std::filesystem::path& path);

// A program run through the shell, as a user or a script would: its exit status and its standard
// output (followed by its standard error when with_errors; otherwise that is discarded).
struct CommandResult {
  int status;
  std::string output;
};
CommandResult run_command(const std::string& command, bool with_errors = false);

// How many times `needle` occurs in `text` (e.g. the "assistant> " turns of a chat).
std::size_t count_occurrences(std::string_view text, std::string_view needle);

// "286,227,468": ids as the programs' --tokens option takes them.
std::string comma_separated(const std::vector<std::int32_t>& ids);
// A file written by --dump-logits: float32 [rows, vocab], row-major. A file of another size is a
// test failure (the returned tensor is then all zeros).
Tensor read_dumped_logits(const std::filesystem::path& path, std::int64_t rows, std::int64_t vocab);

// A [rows, columns] f32 matrix of N(mean, 1) values from a seeded generator.
Tensor random_normal_matrix(std::int64_t rows, std::int64_t columns, std::uint32_t seed,
                            float mean = 0.0f);

// The bytes of a safetensors file with this header text and data section. The 8-byte length
// prefix is the header's size unless `claimed_header_length` says otherwise (to forge bad files).
std::string safetensors_bytes(std::string_view header, std::string_view data,
                              long long claimed_header_length = -1);

// The golden activations of a tiny model ("tiny" or "tiny-maverick"), opened once and cached.
// The golden data is committed in golden/data, so a missing file fails the test loudly.
const SafetensorsFile& golden_activations(const char* model_name);

// EXPECT_TRUE(matches_golden(ours, golden, tolerance::kLayer)) prints the comparison on failure.
::testing::AssertionResult matches_golden(const Tensor& ours, const Tensor& golden,
                                          Tolerance tolerance);

// The path of Meta's tokenizer.model, or skips the current test naming where it looked.
#define LLAMA4_TOKENIZER_OR_SKIP(path_variable)                                   \
  const std::filesystem::path path_variable = ::llama4::default_tokenizer_path(); \
  if (!std::filesystem::exists(path_variable))                                    \
  GTEST_SKIP() << "Meta's tokenizer.model not found at " << path_variable         \
               << "; set LLAMA4_TOKENIZER to its path (it is not part of this repository)"

// Skips a test in a sanitizer build (AddressSanitizer, as in the asan preset), where it runs about
// 4 times slower (the cloze test: 6.7 s, 24.8 s). Only for tests that repeat, at scale, code that
// faster tests run under the sanitizers too (the reason says which); the release build runs them
// all.
#if defined(__SANITIZE_ADDRESS__)
#define LLAMA4_SANITIZED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LLAMA4_SANITIZED_BUILD 1
#endif
#endif
#ifdef LLAMA4_SANITIZED_BUILD
#define LLAMA4_SKIP_UNDER_SANITIZERS(reason) GTEST_SKIP() << "sanitizer build: " << reason
#else
#define LLAMA4_SKIP_UNDER_SANITIZERS(reason) static_cast<void>(0)
#endif

}  // namespace llama4::testing
