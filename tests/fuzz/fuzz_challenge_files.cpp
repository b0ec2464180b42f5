// libFuzzer target: the files the challenge program reads (bench/challenge): a workload and a
// thresholds file, given as two parts of one input (fuzz_files.hpp's separator). read_workload +
// resolve_prompts must give a workload that can be run (increasing batch sizes, every prompt's
// ids inside the vocabulary and inside the context with its new tokens) or a llama4::Error; so
// must read_thresholds. Built and run by scripts/fuzz.sh; seeds: bench/challenge/workloads/ and
// thresholds.json.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "bench/challenge/thresholds.hpp"
#include "bench/challenge/workload.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/tensors/error.hpp"
#include "tests/fuzz/fuzz_files.hpp"

namespace {

void check_workload(const llama4::challenge::Workload& workload) {
  for (std::size_t b = 0; b < workload.batch_sizes.size(); ++b) {
    if (workload.batch_sizes[b] < 1 ||
        (b > 0 && workload.batch_sizes[b] <= workload.batch_sizes[b - 1]))
      __builtin_trap();
  }
  for (const auto& prompt : workload.prompts) {
    if (prompt.ids.empty() || prompt.max_new_tokens < 1) __builtin_trap();
    if (std::ssize(prompt.ids) + prompt.max_new_tokens - 1 > workload.context_length)
      __builtin_trap();
    for (const std::int32_t id : prompt.ids) {
      if (id < 0 || id >= 6144) __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama4;
  static const Tokenizer tokenizer = Tokenizer::load(std::filesystem::path(LLAMA4_SOURCE_DIR) /
                                                     "golden/llama4-bible" / kTrainedTokenizerFile);
  const std::vector<std::string_view> parts =
      fuzz::split_files(std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    challenge::Workload workload =
        challenge::read_workload(fuzz::write_scratch_file("workload.json", parts[0]));
    challenge::resolve_prompts(workload, &tokenizer, 6144);
    check_workload(workload);
  } catch (const Error&) {
  }
  if (parts.size() > 1) {
    try {
      for (const auto& threshold :
           challenge::read_thresholds(fuzz::write_scratch_file("thresholds.json", parts[1]))) {
        if (threshold.batch < 1) __builtin_trap();
      }
    } catch (const Error&) {
    }
  }
  return 0;
}
