// libFuzzer target: config.json (chapter 01). Parsing must give a ModelConfig or a llama4::Error;
// what it accepts must be usable without overflow or undefined behaviour: every layer, the
// parameter counts, the RoPE table, the KV cache size of the default context. Built and run by
// scripts/fuzz.sh; seeds: the golden configs.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/layers/rope.hpp"
#include "common/model/model.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/model_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama4;
  try {
    const ModelConfig config =
        parse_model_config(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    if (static_cast<std::int64_t>(config.layers.size()) != config.num_hidden_layers)
      __builtin_trap();
    for (std::int64_t layer = 0; layer < config.num_hidden_layers; ++layer) config.layer(layer);
    volatile std::uint64_t sink = config.total_parameters() + config.active_parameters();
    (void)sink;
    rope_inverse_frequencies(config.head_dim, config.rope_theta, config.rope_scaling);
    check_context_length(config, std::min<std::int64_t>(config.max_position_embeddings, 4096));
  } catch (const Error&) {
  }
  return 0;
}
