// libFuzzer target: model.safetensors.index.json (chapter 01), next to the golden tiny model's two
// shards. Opening the directory must give a Checkpoint or a llama4::Error, and every tensor the
// index lists must then be in the shard it names. Built and run by scripts/fuzz.sh; seed: the
// golden sharded index.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/tensors/checkpoint.hpp"
#include "common/tensors/error.hpp"
#include "tests/fuzz/fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama4;
  static const std::filesystem::path directory = [] {
    const std::filesystem::path golden =
        std::filesystem::path(LLAMA4_SOURCE_DIR) / "golden" / "data" / "tiny-sharded";
    const std::filesystem::path copy = fuzz::scratch_directory() / "sharded";
    std::filesystem::create_directories(copy);
    for (const char* shard :
         {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}) {
      std::filesystem::copy_file(golden / shard, copy / shard);
    }
    return copy;
  }();
  fuzz::write_scratch_file("sharded/model.safetensors.index.json",
                           std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const Checkpoint checkpoint = Checkpoint::open(directory);
    for (const std::string& name : checkpoint.names()) {
      const Tensor tensor = checkpoint.tensor(name);
      if (tensor.nbytes() != checkpoint.entry(name).end - checkpoint.entry(name).begin)
        __builtin_trap();
    }
  } catch (const Error&) {
  }
  return 0;
}
