#include "common/training/rms_norm_backward.hpp"

#include <cmath>

#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

// One vector of n numbers: dx from x, r and g = dy ⊙ w (see the header). dx may alias g.
void normalised_vector_backward(const float* x, float r, const float* g, float* dx,
                                std::int64_t n) {
  float g_dot_x = 0.0f;  // Σ g_i x_i
  for (std::int64_t i = 0; i < n; ++i) g_dot_x += g[i] * x[i];
  const float along_x = r * r * r * g_dot_x / static_cast<float>(n);
  for (std::int64_t i = 0; i < n; ++i) dx[i] = r * g[i] - x[i] * along_x;
}

float inverse_rms(const float* x, std::int64_t n, float eps) {
  float sum_of_squares = 0.0f;
  for (std::int64_t i = 0; i < n; ++i) sum_of_squares += x[i] * x[i];
  return 1.0f / std::sqrt(sum_of_squares / static_cast<float>(n) + eps);
}

}  // namespace

void rms_norm_backward(const Tensor& x, const Tensor& weight, float eps, const Tensor& dy,
                       Tensor& dx, Tensor& dweight) {
  if (x.rank() != 2) fail("rms_norm_backward: x must be [N, H], got ", shape_string(x.shape()));
  const std::int64_t tokens = x.dim(0), hidden = x.dim(1);
  expect_shape(weight, {hidden}, "rms_norm_backward weight");
  expect_shape(dy, x.shape(), "rms_norm_backward dy");
  expect_shape(dx, x.shape(), "rms_norm_backward dx");
  expect_shape(dweight, {hidden}, "rms_norm_backward weight gradient");
  const float* in = x.data<float>();
  const float* w = weight.data<float>();
  const float* dy_data = dy.data<float>();
  float* dx_data = dx.mutable_data<float>();
  float* dw = dweight.mutable_data<float>();
  for (std::int64_t t = 0; t < tokens; ++t) {
    const float* xt = in + t * hidden;
    const float* dyt = dy_data + t * hidden;
    float* dxt = dx_data + t * hidden;
    const float r = inverse_rms(xt, hidden, eps);
    for (std::int64_t i = 0; i < hidden; ++i) {
      dw[i] += dyt[i] * xt[i] * r;  // dw_i += dy_i · x̂_i
      dxt[i] = dyt[i] * w[i];       // g, turned into dx in place below
    }
    normalised_vector_backward(xt, r, dxt, dxt, hidden);
  }
}

void qk_norm_backward(const Tensor& x, float eps, Tensor& gradient) {
  if (x.rank() != 3) fail("qk_norm_backward: x must be [N, heads, D]");
  expect_shape(gradient, x.shape(), "qk_norm_backward gradient");
  const std::int64_t head_dim = x.dim(2), vectors = x.dim(0) * x.dim(1);
  const float* in = x.data<float>();
  float* g = gradient.mutable_data<float>();
  for (std::int64_t v = 0; v < vectors; ++v) {
    const float* head = in + v * head_dim;
    normalised_vector_backward(head, inverse_rms(head, head_dim, eps), g + v * head_dim,
                               g + v * head_dim, head_dim);
  }
}

}  // namespace llama4
