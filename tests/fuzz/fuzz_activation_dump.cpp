// libFuzzer target: an activation dump as chapter08_compare reads it (chapter 08). The file is
// compared stage by stage with itself and with the golden activations; every outcome is a
// Divergence or a llama4::Error (a layer index that is not a number, a shape or dtype that cannot
// be compared), never an escaped std::invalid_argument or a 5 GB stage list. Built and run by
// scripts/fuzz.sh; seeds: golden activation files.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/debugging/activation_dump.hpp"
#include "common/tensors/error.hpp"
#include "tests/fuzz/fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama4;
  static const SafetensorsFile golden(std::filesystem::path(LLAMA4_SOURCE_DIR) / "golden" / "data" /
                                      "activations-tiny-maverick.safetensors");
  const auto path = fuzz::write_scratch_file(
      "dump.safetensors", std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    const SafetensorsFile dump(path);
    const std::int64_t layers =
        std::max(dump_layer_count(dump, ""), dump_layer_count(golden, "full."));
    const Divergence with_itself = first_divergence(dump, "", dump, "", layers);
    const Divergence with_golden = first_divergence(dump, "", golden, "full.", layers);
    const Divergence loose = first_divergence(dump, "", golden, "full.", layers, Tolerance{1, 1});
    if (with_itself.stages_compared < 0 || with_golden.stages_compared < 0 ||
        loose.stages_compared < 0) {
      __builtin_trap();
    }
  } catch (const Error&) {
  }
  return 0;
}
