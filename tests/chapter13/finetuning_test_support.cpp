#include "tests/chapter13/finetuning_test_support.hpp"

#include "common/debugging/data_paths.hpp"

namespace llama4::testing {

const SafetensorsFile& golden_finetuning() {
  static const SafetensorsFile file(golden_data_dir() / "finetuning-tiny.safetensors");
  return file;
}

std::vector<SupervisedExample> golden_conversations() {
  std::vector<SupervisedExample> examples;
  for (int c = 0; c < 3; ++c) {
    const std::string prefix = "conversation." + std::to_string(c) + ".";
    const Tensor tokens = golden_finetuning().tensor(prefix + "tokens");
    const Tensor trained = golden_finetuning().tensor(prefix + "trained");
    SupervisedExample example{"golden conversation " + std::to_string(c), {}, {}};
    for (std::int64_t i = 0; i < tokens.numel(); ++i) {
      example.tokens.push_back(tokens.data<std::int32_t>()[i]);
      example.trained.push_back(static_cast<std::uint8_t>(trained.data<std::int32_t>()[i]));
    }
    examples.push_back(std::move(example));
  }
  return examples;
}

PackedSequences golden_packed_batch() {
  const std::vector<SupervisedExample> examples = golden_conversations();
  return pack_examples(examples, /*tokens=*/47, /*pad_id=*/0);
}

}  // namespace llama4::testing
