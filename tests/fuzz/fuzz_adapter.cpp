// libFuzzer target: a LoRA adapter directory as chapter08_model --adapter reads it (chapter 13).
// The input is two files cut at fuzz::kFileSeparator:
//
//   adapter_config.json | adapter_model.safetensors
//
// load_adapter must give an adapter for the golden tiny model, which then merges into it, or a
// llama4::Error naming the file and the field or tensor at fault. Built and run by scripts/fuzz.sh;
// seed: an adapter of the tiny model saved by save_adapter (tests/fuzz/make_seeds.py).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/debugging/data_paths.hpp"
#include "common/finetuning/adapter_file.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/model_config.hpp"
#include "tests/fuzz/fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama4;
  static const std::filesystem::path model = golden_model_dir("tiny");
  static const ModelConfig config = load_model_config(model / "config.json");
  static const Checkpoint base = Checkpoint::open(model);
  const std::vector<std::string_view> files =
      fuzz::split_files(std::string_view(reinterpret_cast<const char*>(data), size));
  if (files.size() != 2) return 0;
  try {
    fuzz::write_scratch_file("adapter/adapter_config.json", files[0]);
    fuzz::write_scratch_file("adapter/adapter_model.safetensors", files[1]);
    LoraAdapter adapter = load_adapter(fuzz::scratch_directory() / "adapter", config);
    if (adapter.settings().rank < 1) __builtin_trap();
    const Checkpoint merged = merge_adapter(base, adapter);
    if (merged.names() != base.names()) __builtin_trap();
  } catch (const Error&) {
  }
  return 0;
}
