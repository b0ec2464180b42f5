#include "common/training/embedding_backward.hpp"

#include "common/tensors/error.hpp"

namespace llama4 {

void embedding_backward(std::span<const std::int32_t> ids, const Tensor& dx, Tensor& dtable) {
  const std::int64_t hidden = dtable.dim(1), vocab = dtable.dim(0);
  expect_shape(dx, {static_cast<std::int64_t>(ids.size()), hidden}, "embedding_backward dx");
  const float* in = dx.data<float>();
  float* table = dtable.mutable_data<float>();
  for (std::size_t t = 0; t < ids.size(); ++t) {
    if (ids[t] < 0 || ids[t] >= vocab) {
      fail("embedding_backward: token id ", ids[t], " at position ", t, " is outside [0, ", vocab,
           ")");
    }
    float* row = table + static_cast<std::int64_t>(ids[t]) * hidden;
    const float* g = in + static_cast<std::int64_t>(t) * hidden;
    for (std::int64_t i = 0; i < hidden; ++i) row[i] += g[i];
  }
}

}  // namespace llama4
