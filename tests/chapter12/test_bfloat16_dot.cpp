// Chapter 12: the bf16-pair kernels (vdpbf16ps) against the f32 product of x rounded to bf16.
//
// The kernels round x to bf16 (nearest, ties to even), then multiply bf16 by bf16: each product is
// exact in f32 (8 + 8 significant bits), so the only difference from the f32 product of the
// rounded x and the weights is the order of the sums: a relative error of about n · 2^-24 of
// Σ|x_i w_i|. Rounding x any other way (truncating, say) moves results by up to 2^-8 of that
// sum, far outside the bound: these tests would catch it. Odd shapes reach every edge: 1 to 9
// rows (decode's partial tiles and prefill's 4-row tiles), outputs that are not multiples of 4 or
// of 32 (the masked columns of matmul's blocks), odd input sizes (a pair with its second half
// missing), and sizes large enough to run on several threads.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/tensors/bfloat16_dot.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/matmul.hpp"
#include "common/tensors/tensor.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using testing::random_normal_matrix;

// y[r, o] must equal the exact sum Σ_i x_bf16[r, i] · w[i] to the rounding of n f32 additions.
void expect_sums_of_rounded_x(const Tensor& x, const Tensor& weight, const Tensor& y,
                              bool input_major) {
  const Tensor rounded_x = x.to(DType::BF16).to(DType::F32);
  const Tensor w = weight.to(DType::F32);
  const std::int64_t in = x.dim(1);
  for (std::int64_t r = 0; r < y.dim(0); ++r) {
    for (std::int64_t o = 0; o < y.dim(1); ++o) {
      double exact = 0, magnitude = 0;
      for (std::int64_t i = 0; i < in; ++i) {
        const double product =
            static_cast<double>(rounded_x.at({r, i})) * (input_major ? w.at({i, o}) : w.at({o, i}));
        exact += product;
        magnitude += std::fabs(product);
      }
      const double bound = static_cast<double>(in + 4) * 0x1p-24 * magnitude + 1e-30;
      ASSERT_NEAR(y.at({r, o}), exact, bound)
          << "at [" << r << ", " << o << "] of [" << y.dim(0) << ", " << y.dim(1) << "], in " << in;
    }
  }
}

class Bf16Pairs : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cpu_has_bf16_pairs())
      GTEST_SKIP() << "this CPU has no AVX-512 BF16 (vdpbf16ps): the bf16-pair kernels do not run";
    set_bf16_kernel(Bf16Kernel::bf16_pairs);
  }
  void TearDown() override { set_bf16_kernel(Bf16Kernel::widen_to_float); }
};

TEST_F(Bf16Pairs, LinearEqualsTheProductOfXRoundedToBfloat16OnOddShapes) {
  for (const std::int64_t rows : {1, 2, 3, 4, 5, 9}) {
    for (const std::int64_t out : {1, 3, 5, 8, 17}) {
      for (const std::int64_t in : {1, 2, 31, 33, 64, 95}) {
        const Tensor x = random_normal_matrix(rows, in, 1);
        const Tensor weight = random_normal_matrix(out, in, 2).to(DType::BF16);
        expect_sums_of_rounded_x(x, weight, linear(x, weight), /*input_major=*/false);
      }
    }
  }
}

TEST_F(Bf16Pairs, MatmulEqualsTheProductOfXRoundedToBfloat16OnOddShapes) {
  for (const std::int64_t rows : {1, 2, 3, 4, 5, 9}) {
    for (const std::int64_t out : {1, 3, 31, 33, 64, 65, 100}) {
      for (const std::int64_t in : {1, 2, 3, 33, 64}) {
        const Tensor x = random_normal_matrix(rows, in, 3);
        const Tensor weight = random_normal_matrix(in, out, 4).to(DType::BF16);
        expect_sums_of_rounded_x(x, weight, matmul(x, weight), /*input_major=*/true);
      }
    }
  }
}

// Large enough for the threads to split the work, and for matmul's prefill to take W in more
// than one chunk of rows (kMatmulChunkRows = 128). Decode rows of matmul take matmul.cpp's f32
// kernel on x rounded to bf16: the same bound holds.
TEST_F(Bf16Pairs, AgreeOnShapesThatRunOnSeveralThreads) {
  for (const std::int64_t rows : {1, 3, 6}) {
    const Tensor x = random_normal_matrix(rows, 301, 5);
    const Tensor weight = random_normal_matrix(301, 257, 6).to(DType::BF16);
    expect_sums_of_rounded_x(x, weight, matmul(x, weight), /*input_major=*/true);
    const Tensor transposed = random_normal_matrix(257, 301, 7).to(DType::BF16);
    expect_sums_of_rounded_x(x, transposed, linear(x, transposed), /*input_major=*/false);
  }
}

TEST(Bf16Kernel, TheLibraryDefaultKeepsXInFloat32AndAutomaticFollowsTheCpu) {
  EXPECT_FALSE(using_bf16_pairs()) << "chapters before 12 must compute with x exact";
  set_bf16_kernel(Bf16Kernel::automatic);
  EXPECT_EQ(using_bf16_pairs(), cpu_has_bf16_pairs());
  set_bf16_kernel(Bf16Kernel::widen_to_float);
  EXPECT_FALSE(using_bf16_pairs());
}

TEST(Bf16Kernel, AskingForPairsWithoutTheInstructionIsAClearError) {
  if (cpu_has_bf16_pairs()) GTEST_SKIP() << "this CPU has AVX-512 BF16: nothing to refuse";
  set_bf16_kernel(Bf16Kernel::bf16_pairs);
  try {
    using_bf16_pairs();
    ADD_FAILURE() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("AVX-512 BF16"), std::string::npos) << error.what();
  }
  set_bf16_kernel(Bf16Kernel::widen_to_float);
}

}  // namespace
}  // namespace llama4
