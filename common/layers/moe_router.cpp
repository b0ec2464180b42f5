#include "common/layers/moe_router.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/tensors/error.hpp"
#include "common/tensors/matmul.hpp"

namespace llama4 {

RouterChoice route_tokens(const Tensor& x, const Tensor& router_weight, std::int64_t top_k) {
  const std::int64_t experts = router_weight.dim(0);
  if (top_k < 1 || top_k > experts) fail("router: top_k ", top_k, " with ", experts, " experts");
  RouterChoice choice;
  choice.logits = linear(x, router_weight);  // [T, E]
  choice.top_k = top_k;
  const float* logits = choice.logits.data<float>();
  std::vector<std::int32_t> order(static_cast<std::size_t>(experts));
  // [excerpt route_tokens]
  for (std::int64_t t = 0; t < x.dim(0); ++t) {
    const float* row = logits + t * experts;
    std::iota(order.begin(), order.end(), 0);
    // Highest logit first; equal logits keep the lower index first.
    std::stable_sort(order.begin(), order.end(),
                     [row](std::int32_t a, std::int32_t b) { return row[a] > row[b]; });
    for (std::int64_t i = 0; i < top_k; ++i) {
      const std::int32_t expert = order[static_cast<std::size_t>(i)];
      choice.expert_index.push_back(expert);
      choice.expert_score.push_back(1.0f / (1.0f + std::exp(-row[expert])));  // sigmoid
    }
  }
  // [end excerpt]
  return choice;
}

}  // namespace llama4
