// The gradient of the embedding table.
//
// The embedding copies row ids[t] of the table for every position t (layers/embedding.hpp). Its
// gradient runs the other way: the gradient reaching position t is added to row ids[t]. A token
// that appears five times in the batch collects five contributions; a token that never appears
// gets none (its row does not move, except by weight decay).
#pragma once

#include <cstdint>
#include <span>

#include "common/tensors/tensor.hpp"

namespace llama4 {

// ids: N token ids, dx: [N, H] -> dtable: [V, H], added to.
void embedding_backward(std::span<const std::int32_t> ids, const Tensor& dx, Tensor& dtable);

}  // namespace llama4
