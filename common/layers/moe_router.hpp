// The MoE router: which expert(s) each token goes to, and how strongly.
//
//   logits = x · W_routerᵀ                      [T, E]
//   chosen = top-k of the RAW logits            (k = 1 in Scout and Maverick)
//   score  = sigmoid(logit of each chosen expert)
//
// Three things differ from Mixtral/DeepSeek-style routers, and each has bitten an implementation:
//   - sigmoid, not softmax over the experts, and applied only to the chosen logits;
//   - no renormalisation of the top-k scores (with k = 1 a softmax would always give 1.0);
//   - the score multiplies the expert's INPUT, not its output (see moe.hpp).
// Selecting on raw logits or on sigmoids picks the same experts (sigmoid is increasing); ties go to
// the lower expert index, as torch.topk does on CPU.
#pragma once

#include <cstdint>
#include <vector>

#include "common/tensors/tensor.hpp"

namespace llama4 {

struct RouterChoice {
  Tensor logits;  // [T, E]
  std::int64_t top_k = 1;
  std::vector<std::int32_t> expert_index;  // [T * k], best first
  std::vector<float> expert_score;         // [T * k], sigmoid of the chosen logits
};

// x: [T, H] (post-attention-normed), router_weight: [E, H].
RouterChoice route_tokens(const Tensor& x, const Tensor& router_weight, std::int64_t top_k);

}  // namespace llama4
