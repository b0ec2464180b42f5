#include "common/matmul.hpp"

#include <algorithm>
#include <cstdint>

#include "common/error.hpp"

namespace llama4 {
namespace {

// Both operands must be plain row-major matrices with matching inner sizes; say which one is not.
void check_operands(const Tensor& x, const Tensor& weight, const Tensor& y, std::int64_t in,
                    std::int64_t out, const char* function) {
  if (x.rank() != 2 || weight.rank() != 2) {
    fail(function, ": x ", shape_string(x.shape()), " and weight ", shape_string(weight.shape()),
         " must both be matrices");
  }
  if (x.dtype() != DType::F32) fail(function, ": x must be F32, got ", dtype_name(x.dtype()));
  if (!is_floating_point(weight.dtype())) {
    fail(function, ": weight dtype ", dtype_name(weight.dtype()), " is not supported");
  }
  if (!x.is_contiguous() || !weight.is_contiguous()) {
    fail(function, ": operands must be contiguous (x ", shape_string(x.shape()), ", weight ",
         shape_string(weight.shape()), ")");
  }
  if (x.dim(1) != in) {
    fail(function, ": x ", shape_string(x.shape()), " does not fit weight ",
         shape_string(weight.shape()));
  }
  expect_shape(y, {x.dim(0), out}, std::string(function) + " output");
  if (!y.is_contiguous() || y.dtype() != DType::F32) fail(function, ": output must be contiguous F32");
}

// One dot product, x[i] * w[i] summed in f32. `omp simd` lets the compiler reorder the sum into
// vector lanes (it is not allowed to reassociate floats on its own).
template <class Weight>
inline float dot(const float* x, const Weight* w, std::int64_t n) {
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (std::int64_t i = 0; i < n; ++i) sum += x[i] * to_float(w[i]);
  return sum;
}

// y[r, o] = dot(x[r, :], W[o, :]). Threads split the output features, so each weight row is read
// from memory once and reused for every row of x while it sits in cache.
template <class Weight>
void linear_kernel(const float* x, const Weight* weight, float* y, std::int64_t rows,
                   std::int64_t in, std::int64_t out) {
#pragma omp parallel for schedule(static)
  for (std::int64_t o = 0; o < out; ++o) {
    const Weight* w_row = weight + o * in;
    for (std::int64_t r = 0; r < rows; ++r) y[r * out + o] = dot(x + r * in, w_row, in);
  }
}

// y[r, :] = sum_i x[r, i] * W[i, :]. Threads split the output columns into blocks; within a block
// each weight row segment is loaded once and applied to a group of x rows held in `accumulator`.
template <class Weight>
void matmul_kernel(const float* x, const Weight* weight, float* y, std::int64_t rows,
                   std::int64_t in, std::int64_t out) {
  constexpr std::int64_t kColumns = 256;  // output columns per block
  constexpr std::int64_t kRows = 16;      // x rows per group: accumulator = 16 KB, fits L1
  const std::int64_t blocks = (out + kColumns - 1) / kColumns;
#pragma omp parallel for schedule(static)
  for (std::int64_t block = 0; block < blocks; ++block) {
    const std::int64_t begin = block * kColumns;
    const std::int64_t width = std::min(kColumns, out - begin);
    float accumulator[kRows][kColumns];
    for (std::int64_t row0 = 0; row0 < rows; row0 += kRows) {
      const std::int64_t group = std::min(kRows, rows - row0);
      for (std::int64_t r = 0; r < group; ++r) std::fill_n(accumulator[r], width, 0.0f);
      for (std::int64_t i = 0; i < in; ++i) {
        const Weight* w = weight + i * out + begin;
        for (std::int64_t r = 0; r < group; ++r) {
          const float xi = x[(row0 + r) * in + i];
          float* acc = accumulator[r];
#pragma omp simd
          for (std::int64_t c = 0; c < width; ++c) acc[c] += xi * to_float(w[c]);
        }
      }
      for (std::int64_t r = 0; r < group; ++r) {
        std::copy_n(accumulator[r], width, y + (row0 + r) * out + begin);
      }
    }
  }
}

}  // namespace

void linear(const Tensor& x, const Tensor& weight, Tensor& y) {
  if (weight.rank() != 2) fail("linear: weight ", shape_string(weight.shape()), " is not a matrix");
  const std::int64_t out = weight.dim(0);
  const std::int64_t in = weight.dim(1);
  check_operands(x, weight, y, in, out, "linear");
  const float* x_data = x.data<float>();
  float* y_data = y.data<float>();
  const std::int64_t rows = x.dim(0);
  switch (weight.dtype()) {
    case DType::BF16: return linear_kernel(x_data, weight.data<bfloat16>(), y_data, rows, in, out);
    case DType::F16: return linear_kernel(x_data, weight.data<float16>(), y_data, rows, in, out);
    default: return linear_kernel(x_data, weight.data<float>(), y_data, rows, in, out);
  }
}

Tensor linear(const Tensor& x, const Tensor& weight) {
  if (x.rank() != 2 || weight.rank() != 2) {
    fail("linear: x ", shape_string(x.shape()), " and weight ", shape_string(weight.shape()),
         " must both be matrices");
  }
  Tensor y = Tensor::zeros({x.dim(0), weight.dim(0)});
  linear(x, weight, y);
  return y;
}

void matmul(const Tensor& x, const Tensor& weight, Tensor& y) {
  if (weight.rank() != 2) fail("matmul: weight ", shape_string(weight.shape()), " is not a matrix");
  const std::int64_t in = weight.dim(0);
  const std::int64_t out = weight.dim(1);
  check_operands(x, weight, y, in, out, "matmul");
  const float* x_data = x.data<float>();
  float* y_data = y.data<float>();
  const std::int64_t rows = x.dim(0);
  switch (weight.dtype()) {
    case DType::BF16: return matmul_kernel(x_data, weight.data<bfloat16>(), y_data, rows, in, out);
    case DType::F16: return matmul_kernel(x_data, weight.data<float16>(), y_data, rows, in, out);
    default: return matmul_kernel(x_data, weight.data<float>(), y_data, rows, in, out);
  }
}

Tensor matmul(const Tensor& x, const Tensor& weight) {
  if (x.rank() != 2 || weight.rank() != 2) {
    fail("matmul: x ", shape_string(x.shape()), " and weight ", shape_string(weight.shape()),
         " must both be matrices");
  }
  Tensor y = Tensor::zeros({x.dim(0), weight.dim(1)});
  matmul(x, weight, y);
  return y;
}

}  // namespace llama4
