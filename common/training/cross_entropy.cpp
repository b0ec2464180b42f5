#include "common/training/cross_entropy.hpp"

#include <algorithm>
#include <cmath>

#include "common/tensors/error.hpp"

namespace llama4 {

double cross_entropy(const Tensor& logits, std::span<const std::int32_t> targets, Tensor* dlogits,
                     std::span<const std::uint8_t> counted) {
  if (logits.rank() != 2 || !logits.is_contiguous()) {
    fail("cross_entropy: logits must be a contiguous [N, V] matrix");
  }
  const std::int64_t rows = logits.dim(0), vocab = logits.dim(1);
  if (static_cast<std::int64_t>(targets.size()) != rows) {
    fail("cross_entropy: ", targets.size(), " targets for ", rows, " rows of logits");
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    if (targets[static_cast<std::size_t>(r)] < 0 || targets[static_cast<std::size_t>(r)] >= vocab) {
      fail("cross_entropy: target ", targets[static_cast<std::size_t>(r)], " at row ", r,
           " is outside the vocabulary (", vocab, ")");
    }
  }
  if (dlogits != nullptr) expect_shape(*dlogits, logits.shape(), "cross_entropy gradient");
  if (!counted.empty() && static_cast<std::int64_t>(counted.size()) != rows) {
    fail("cross_entropy: ", counted.size(), " loss-mask flags for ", rows, " rows of logits");
  }
  const auto counts = [&](std::int64_t r) {
    return counted.empty() || counted[static_cast<std::size_t>(r)] != 0;
  };
  const std::int64_t counted_rows =
      counted.empty()
          ? rows
          : std::count_if(counted.begin(), counted.end(), [](std::uint8_t c) { return c != 0; });
  const float* z = logits.data<float>();
  float* dz = dlogits != nullptr ? dlogits->mutable_data<float>() : nullptr;
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = z + r * vocab;
    if (!counts(r)) {
      if (dz != nullptr) std::fill_n(dz + r * vocab, vocab, 0.0f);
      continue;
    }
    const float largest = *std::max_element(row, row + vocab);  // log-sum-exp, safely
    double sum = 0.0;
    for (std::int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(row[v] - largest));
    const double log_sum = std::log(sum) + largest;
    const std::int32_t target = targets[static_cast<std::size_t>(r)];
    total += log_sum - row[target];
    if (dz != nullptr) {
      // [excerpt softmax_minus_one_hot]
      float* drow = dz + r * vocab;
      const double per_row = 1.0 / static_cast<double>(counted_rows);  // the gradient of the MEAN
      for (std::int64_t v = 0; v < vocab; ++v) {
        drow[v] = static_cast<float>(std::exp(row[v] - log_sum) * per_row);
      }
      drow[target] -= static_cast<float>(per_row);
      // [end excerpt]
    }
  }
  return counted_rows == 0 ? 0.0 : total / static_cast<double>(counted_rows);
}

}  // namespace llama4
