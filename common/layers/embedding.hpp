// Token embedding: the first stage of the model.
//
// The embedding table has one row of `hidden_size` numbers per token id ([202048, 5120] in Scout).
// Embedding a sequence just copies row ids[t] for every position t. Llama 4 applies no scaling
// (some models multiply by sqrt(hidden_size); Llama does not).
#pragma once

#include <cstdint>
#include <span>

#include "common/tensors/tensor.hpp"

namespace llama4 {

// x: [T, H] f32, row t = table[ids[t]]; table: [V, H] (bf16 in a checkpoint). An id outside
// [0, V) is an Error naming the id and its position.
void embed_tokens(std::span<const std::int32_t> ids, const Tensor& table, Tensor& x);
Tensor embed_tokens(std::span<const std::int32_t> ids, const Tensor& table);

}  // namespace llama4
