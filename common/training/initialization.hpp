// How a model's weights start before training.
//
// Training from scratch starts from random weights, and their scale matters: too large and the
// activations grow layer after layer until the softmaxes saturate; too small and every gradient
// vanishes. The recipe here is GPT-2's, which Llama's training code and llm.c follow:
//
//   - every matrix (and the embedding) ~ N(0, 0.02²)      0.02 is HF's initializer_range
//   - the matrices that write INTO the residual stream (o_proj, the dense and the shared
//     expert's down_proj, the routed experts' down_proj) ~ N(0, (0.02/sqrt(2·L))²): the stream
//     sums 2L such contributions, and dividing by sqrt(2L) keeps its size independent of depth
//   - norm weights = 1 (the norm starts as a pure normalisation)
//
// The numbers come from a counter-based generator: element i of parameter k is a hash of
// (seed, k, i), so the result is the same on any number of threads and any machine.
#pragma once

#include <cstdint>

#include "common/training/trainable_model.hpp"

namespace llama4 {

void initialise_weights(TrainableModel& model, std::uint64_t seed, double std = 0.02);

// The counter-based generator: 64 random bits from (seed, parameter, element), the same on every
// machine and thread count. (Chapter 13 starts its LoRA adapters from it too.)
std::uint64_t counter_hash(std::uint64_t seed, std::uint64_t parameter, std::uint64_t element);

}  // namespace llama4
