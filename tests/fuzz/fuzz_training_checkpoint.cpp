// libFuzzer target: the training checkpoint chapter11_train --resume reads (chapter 11). The input
// is two files cut at fuzz::kFileSeparator:
//
//   config.json | training_state.safetensors
//
// The config makes the model (a config that parses but describes more than 4 M parameters is
// skipped: the fuzzer is after the reader, not the allocator); load_training_state must then give
// the weights, the optimizer's moments and the run's settings, or a llama4::Error naming the file
// and the tensor or setting at fault. Settings are checked against the command line's ranges.
// Built and run by scripts/fuzz.sh; seed: a small model's state (tests/fuzz/make_seeds.py).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/model_config.hpp"
#include "common/training/training_checkpoint.hpp"
#include "tests/fuzz/fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama4;
  const std::vector<std::string_view> files =
      fuzz::split_files(std::string_view(reinterpret_cast<const char*>(data), size));
  if (files.size() != 2) return 0;
  try {
    const ModelConfig config = parse_model_config(files[0], "config.json");
    constexpr std::int64_t kMostParameters = 4 << 20;
    std::int64_t parameters = 0;
    for (const WeightShape& weight : text_model_weights(config)) {
      std::int64_t elements = 1;
      for (const std::int64_t dimension : weight.shape) {
        if (dimension != 0 && elements > kMostParameters / dimension) return 0;  // no overflow
        elements *= dimension;
      }
      parameters += elements;
      if (parameters > kMostParameters) return 0;
    }
    TrainableModel model(config);
    fuzz::write_scratch_file("training/training_state.safetensors", files[1]);
    const ResumedTraining resumed =
        load_training_state(fuzz::scratch_directory() / "training", model);
    // What the trainer does with the settings next must be defined for every accepted value.
    if (resumed.settings.sequences < 1 || resumed.settings.tokens < 1 ||
        resumed.settings.evaluate_every < 1 || resumed.steps_done < 0) {
      __builtin_trap();
    }
  } catch (const Error&) {
  }
  return 0;
}
