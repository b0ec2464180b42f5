#include "common/training/linear.hpp"

#include "common/tensors/error.hpp"
#include "common/tensors/gemm.hpp"

namespace llama4 {
namespace {

// x [N, in], weight [rows, columns] as stored, y [N, out]: every operand a contiguous f32 matrix
// whose sizes fit, or an Error naming the product.
void check(const char* what, const Tensor& x, const Tensor& weight, const Tensor& y,
           std::int64_t in, std::int64_t out) {
  for (const Tensor* t : {&x, &weight, &y}) {
    if (t->rank() != 2 || !t->is_contiguous() || t->dtype() != DType::F32) {
      fail(what, ": every operand must be a contiguous F32 matrix, got ", shape_string(t->shape()),
           " ", dtype_name(t->dtype()));
    }
  }
  if (x.dim(1) != in || y.dim(0) != x.dim(0) || y.dim(1) != out) {
    fail(what, ": x ", shape_string(x.shape()), ", weight ", shape_string(weight.shape()),
         " and y/dy ", shape_string(y.shape()), " do not fit");
  }
}

}  // namespace

void linear_forward(const Tensor& x, const Tensor& weight, Tensor& y) {
  const std::int64_t out = weight.dim(0), in = weight.dim(1);
  check("linear_forward", x, weight, y, in, out);
  gemm(x.data<float>(), Transpose::no, weight.data<float>(), Transpose::yes,
       y.mutable_data<float>(), x.dim(0), out, in);
}

void linear_backward(const Tensor& x, const Tensor& weight, const Tensor& dy, Tensor* dx,
                     Gradient dx_mode, Tensor& dweight) {
  const std::int64_t out = weight.dim(0), in = weight.dim(1), tokens = x.dim(0);
  check("linear_backward", x, weight, dy, in, out);
  expect_shape(dweight, weight.shape(), "linear_backward weight gradient");
  if (dx != nullptr) {
    expect_shape(*dx, x.shape(), "linear_backward input gradient");
    gemm(dy.data<float>(), Transpose::no, weight.data<float>(), Transpose::no,
         dx->mutable_data<float>(), tokens, in, out, dx_mode == Gradient::add);
  }
  gemm(dy.data<float>(), Transpose::yes, x.data<float>(), Transpose::no,
       dweight.mutable_data<float>(), out, in, tokens, /*accumulate=*/true);
}

void matmul_forward(const Tensor& x, const Tensor& weight, Tensor& y) {
  const std::int64_t in = weight.dim(0), out = weight.dim(1);
  check("matmul_forward", x, weight, y, in, out);
  gemm(x.data<float>(), Transpose::no, weight.data<float>(), Transpose::no, y.mutable_data<float>(),
       x.dim(0), out, in);
}

void matmul_backward(const Tensor& x, const Tensor& weight, const Tensor& dy, Tensor* dx,
                     Gradient dx_mode, Tensor& dweight) {
  const std::int64_t in = weight.dim(0), out = weight.dim(1), tokens = x.dim(0);
  check("matmul_backward", x, weight, dy, in, out);
  expect_shape(dweight, weight.shape(), "matmul_backward weight gradient");
  if (dx != nullptr) {
    expect_shape(*dx, x.shape(), "matmul_backward input gradient");
    gemm(dy.data<float>(), Transpose::no, weight.data<float>(), Transpose::yes,
         dx->mutable_data<float>(), tokens, in, out, dx_mode == Gradient::add);
  }
  gemm(x.data<float>(), Transpose::yes, dy.data<float>(), Transpose::no,
       dweight.mutable_data<float>(), in, out, tokens, /*accumulate=*/true);
}

}  // namespace llama4
