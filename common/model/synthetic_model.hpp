// Synthetic models: Llama 4 shapes with seeded random weights, made in memory.
//
// Real Llama 4 checkpoints are 216 GB (Scout) and 800 GB (Maverick): too big to download for a
// benchmark, too big for one GPU. Speed does not depend on what the weights say, only on their
// shapes, so the benchmarks and `--synthetic NAME` run scaled-down models of the same architecture:
//
//   tiny         the golden tiny configuration (4 layers, hidden 64, vocab 512)
//   tiny-202k    the tiny model with Llama 4's real 202048-token vocabulary: Meta's tokenizer, text
//                prompts and the chat format work end to end, in seconds (its text is random)
//   100m         8 layers, hidden 640, 8 experts on every other layer, vocab 32000 (~114M weights)
//   1b           16 layers, hidden 2048, 4 experts on every other layer, vocab 32000 (~1.0B
//                weights)
//   scout-layer  ONE full-size Scout layer (hidden 5120, 40/8 heads, 16 experts of 8192, the
//                202048 vocabulary): what one of Scout's 48 layers costs (~4.3B weights, 8.6 GB)
//
// The weights are bf16, N(0, 1/fan_in) like a trained model's scale, from a counter-based
// generator: element i of tensor k is a hash of (seed, k, i), so the result does not depend on the
// thread count.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/tensors/checkpoint.hpp"
#include "common/tensors/model_config.hpp"

namespace llama4 {

std::vector<std::string> synthetic_model_names();

// The shapes whose vocabulary holds every id of a tokenizer of this size: the ones that can take
// text through it (Meta's tokenizer: tiny-202k and scout-layer).
std::vector<std::string> synthetic_models_that_take_text(std::int64_t tokenizer_vocab_size);

// The config of a named synthetic model; an unknown name is an Error listing the known ones. Its
// random_weights names the shape: whatever runs it says that the weights are random.
ModelConfig synthetic_config(std::string_view name);

// Every weight the config needs (text-only names: model.*, lm_head.weight), random bf16.
Checkpoint synthetic_checkpoint(const ModelConfig& config, std::uint64_t seed);

}  // namespace llama4
