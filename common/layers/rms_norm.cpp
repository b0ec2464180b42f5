#include "common/layers/rms_norm.hpp"

#include <cmath>

#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

// [excerpt rms_norm]
// 1 / sqrt(mean(v²) + eps) over n numbers.
float inverse_rms(const float* v, std::int64_t n, float eps) {
  float sum_of_squares = 0.0f;
#pragma omp simd reduction(+ : sum_of_squares)
  for (std::int64_t i = 0; i < n; ++i) sum_of_squares += v[i] * v[i];
  return 1.0f / std::sqrt(sum_of_squares / static_cast<float>(n) + eps);
}

template <class Weight>
void rms_norm_rows(const float* x, const Weight* weight, float eps, float* y, std::int64_t rows,
                   std::int64_t hidden) {
  for (std::int64_t t = 0; t < rows; ++t) {
    const float* in = x + t * hidden;
    float* out = y + t * hidden;
    const float scale = inverse_rms(in, hidden, eps);
    for (std::int64_t i = 0; i < hidden; ++i) {
      out[i] = in[i] * scale * to_float(weight[i]);
    }
  }
}
// [end excerpt]

}  // namespace

void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& y) {
  if (x.rank() != 2 || !x.is_contiguous()) fail("rms_norm: x must be a contiguous [T, H] matrix");
  expect_shape(weight, {x.dim(1)}, "rms_norm weight");
  expect_shape(y, x.shape(), "rms_norm output");
  const float* in = x.data<float>();
  float* out = y.mutable_data<float>();
  switch (weight.dtype()) {
    case DType::BF16:
      return rms_norm_rows(in, weight.data<bfloat16>(), eps, out, x.dim(0), x.dim(1));
    case DType::F32:
      return rms_norm_rows(in, weight.data<float>(), eps, out, x.dim(0), x.dim(1));
    default:
      fail("rms_norm: weight dtype ", dtype_name(weight.dtype()), " is not supported");
  }
}

Tensor rms_norm(const Tensor& x, const Tensor& weight, float eps) {
  Tensor y = Tensor::zeros(x.shape());
  rms_norm(x, weight, eps, y);
  return y;
}

// [excerpt qk_norm]
void qk_norm(Tensor& x, float eps) {
  if (x.rank() != 3 || !x.is_contiguous())
    fail("qk_norm: x must be a contiguous [T, heads, D] tensor");
  const std::int64_t head_dim = x.dim(2);
  const std::int64_t vectors = x.dim(0) * x.dim(1);  // one norm per (token, head): per head!
  float* data = x.mutable_data<float>();
  for (std::int64_t v = 0; v < vectors; ++v) {
    float* head = data + v * head_dim;
    const float scale = inverse_rms(head, head_dim, eps);
    for (std::int64_t d = 0; d < head_dim; ++d) head[d] *= scale;
  }
}
// [end excerpt]

}  // namespace llama4
