// libFuzzer target: a whole Hugging Face checkpoint directory (chapters 01 and 08), as the model
// loader sees it. The input is two or four files cut at fuzz::kFileSeparator:
//
//   config.json | model.safetensors
//   config.json | model.safetensors.index.json | model-00001-of-00002... | model-00002-of-00002...
//
// Model::load must give a model or a llama4::Error: config and weights are checked against each
// other before anything is built from them. A model it accepts then runs a short forward pass:
// its logits are finite, or check_logits_are_finite says where they are not (an Error). Built and
// run by scripts/fuzz.sh; seeds: the golden tiny checkpoints, single-file and sharded.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/model/model.hpp"
#include "common/tensors/error.hpp"
#include "tests/fuzz/fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama4;
  const std::vector<std::string_view> files =
      fuzz::split_files(std::string_view(reinterpret_cast<const char*>(data), size));
  if (files.size() != 2 && files.size() != 4) return 0;
  const std::filesystem::path directory = fuzz::scratch_directory() / "checkpoint";
  std::filesystem::remove_all(directory);
  fuzz::write_scratch_file("checkpoint/config.json", files[0]);
  if (files.size() == 2) {
    fuzz::write_scratch_file("checkpoint/model.safetensors", files[1]);
  } else {
    fuzz::write_scratch_file("checkpoint/model.safetensors.index.json", files[1]);
    fuzz::write_scratch_file("checkpoint/model-00001-of-00002.safetensors", files[2]);
    fuzz::write_scratch_file("checkpoint/model-00002-of-00002.safetensors", files[3]);
  }
  try {
    const Model model = Model::load(directory);
    fuzz::run_a_few_tokens(model);
  } catch (const Error&) {
  }
  return 0;
}
