// Chapter 12: the quantized matrix product against dequantize-then-f32.
//
// The reference is the plain f32 product of the dequantized weights (Tensor::to(F32) then the f32
// kernel). Kernel v1 multiplies the same numbers in another order, so the two agree to f32
// rounding. Kernel v2 (decode's integer dot product) also rounds x to int8 per block, so it may
// differ by what that rounding can cost: Σ_j |w_j| · (half of x's step), which the test computes.
// Odd shapes reach every path: one to nine rows (decode's dot products and prefill's 4 x 4 tiles,
// with leftovers), output counts that are not multiples of four, one block and several per row.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "common/quantization/block_formats.hpp"
#include "common/quantization/integer_dot.hpp"
#include "common/quantization/quantized_matmul.hpp"
#include "common/quantization/repacked_q4_0.hpp"
#include "common/tensors/matmul.hpp"
#include "common/tensors/tensor.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using testing::random_normal_matrix;

// How far kernel v2 may be from the reference at y[r, o]: each block's x rounded to int8 moves
// each x_j by at most half its step max|x_block| / 127.
double activation_rounding_bound(const Tensor& x, const Tensor& dequantized, std::int64_t r,
                                 std::int64_t o) {
  const std::int64_t in = x.dim(1);
  double bound = 0;
  for (std::int64_t b = 0; b < in; b += kQuantBlock) {
    double largest = 0, weights = 0;
    for (std::int64_t j = b; j < b + kQuantBlock; ++j) {
      largest = std::max<double>(largest, std::fabs(x.at({r, j})));
      weights += std::fabs(dequantized.at({o, j}));
    }
    bound += weights * largest / 127.0 / 2.0;
  }
  return bound;
}

class QuantizedKernels : public ::testing::TestWithParam<QuantizedKernel> {
 protected:
  void SetUp() override {
    if (GetParam() != QuantizedKernel::dequantize_to_float) {
      set_quantized_kernel(QuantizedKernel::automatic);
      if (!using_integer_dot())
        GTEST_SKIP() << "this CPU has neither AVX-512 VNNI nor AVX2: kernel v2 does not run";
      if (GetParam() == QuantizedKernel::eight_rows && !has_eight_row_kernel())
        GTEST_SKIP() << "this CPU has no AVX-512 VNNI: kernel v3 does not run";
    }
    set_quantized_kernel(GetParam());
  }
  void TearDown() override { set_quantized_kernel(QuantizedKernel::automatic); }
};

TEST_P(QuantizedKernels, EqualTheProductOfTheDequantizedWeightsOnOddShapes) {
  for (const DType format : {DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
    for (const std::int64_t rows : {1, 2, 3, 4, 5, 9}) {
      for (const std::int64_t out : {1, 3, 5, 8, 17, 24}) {  // v3 takes groups of 8
        // 1 to 8 blocks: Q8_0's kernel takes four blocks at a time, then the rest one by one.
        for (const std::int64_t in : {32, 96, 160, 224, 256}) {
          const Tensor x = random_normal_matrix(rows, in, 1);
          const Tensor weight = random_normal_matrix(out, in, 2, 0.3f).to(format);
          const Tensor dequantized = weight.to(DType::F32);
          const Tensor ours = linear(x, weight);
          const Tensor reference = linear(x, dequantized);
          // Decode takes the integer kernels; so does Q4_0's prefill where v4 runs (whole
          // groups of eight output rows).
          const bool v4 = (GetParam() == QuantizedKernel::interleaved ||
                           GetParam() == QuantizedKernel::automatic) &&
                          format == DType::Q4_0 && out % 8 == 0;
          const bool integer = GetParam() != QuantizedKernel::dequantize_to_float &&
                               (rows < 4 || v4 || !quantized_prefill_dequantizes());
          for (std::int64_t r = 0; r < rows; ++r) {
            for (std::int64_t o = 0; o < out; ++o) {
              const float expected = reference.at({r, o});
              const double allowed =
                  1e-5 * (std::fabs(expected) + static_cast<double>(in)) +
                  (integer ? activation_rounding_bound(x, dequantized, r, o) : 0.0);
              ASSERT_NEAR(ours.at({r, o}), expected, allowed)
                  << dtype_name(format) << " rows " << rows << " out " << out << " in " << in
                  << " at [" << r << ", " << o << "]";
            }
          }
        }
      }
    }
  }
}

// The bound above must not be so loose that it hides a wrong kernel: on typical data v2's actual
// error is a small part of it, and far below the size of the outputs.
TEST_P(QuantizedKernels, DecodeErrorIsSmallAgainstTheOutputs) {
  const Tensor x = random_normal_matrix(1, 1024, 8);
  const Tensor weight = random_normal_matrix(64, 1024, 9).to(DType::Q4_0);
  const Tensor ours = linear(x, weight), reference = linear(x, weight.to(DType::F32));
  double error = 0, size = 0;
  for (std::int64_t i = 0; i < ours.numel(); ++i) {
    error += std::pow(ours.flat(i) - reference.flat(i), 2);
    size += std::pow(reference.flat(i), 2);
  }
  EXPECT_LT(std::sqrt(error / size),
            GetParam() == QuantizedKernel::dequantize_to_float ? 1e-6 : 0.01);
}

INSTANTIATE_TEST_SUITE_P(Kernels, QuantizedKernels,
                         ::testing::Values(QuantizedKernel::dequantize_to_float,
                                           QuantizedKernel::integer_dot,
                                           QuantizedKernel::eight_rows,
                                           QuantizedKernel::interleaved),
                         [](const auto& kernel) {
                           switch (kernel.param) {
                             case QuantizedKernel::integer_dot:
                               return "V2IntegerDot";
                             case QuantizedKernel::eight_rows:
                               return "V3EightRows";
                             case QuantizedKernel::interleaved:
                               return "V4Interleaved";
                             default:
                               return "V1Float";
                           }
                         });

// Kernel v4's copy: record g · blocks + b holds block b of rows 8g..8g+7, scales first; made once
// per matrix.
TEST(RepackedQ4_0, HoldsEachGroupsBlocksSideBySideAndIsMadeOnce) {
  const Tensor weight = random_normal_matrix(16, 96, 4, 0.3f).to(DType::Q4_0);
  const auto* rows = reinterpret_cast<const BlockQ4_0*>(weight.raw_data());
  const std::size_t before = repacked_q4_0_count();
  const BlockQ4_0x8* records = repacked_q4_0(weight);
  EXPECT_EQ(repacked_q4_0_count(), before + 1);
  EXPECT_EQ(repacked_q4_0(weight), records);  // the same copy again
  EXPECT_EQ(repacked_q4_0_count(), before + 1);
  const std::int64_t blocks = 3;
  for (std::int64_t group = 0; group < 2; ++group) {
    for (std::int64_t b = 0; b < blocks; ++b) {
      const BlockQ4_0x8& record = records[group * blocks + b];
      for (int r = 0; r < 8; ++r) {
        const BlockQ4_0& block = rows[(group * 8 + r) * blocks + b];
        EXPECT_EQ(record.scales[r].bits, block.scale.bits) << group << " " << b << " " << r;
        EXPECT_EQ(std::memcmp(record.nibbles[r], block.nibbles, 16), 0) << group << " " << b;
      }
    }
  }
  EXPECT_THAT([] { repacked_q4_0(random_normal_matrix(12, 32, 5).to(DType::Q4_0)); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("whole groups of eight rows")));
}

TEST(ActivationBlocks, HoldTheRoundedValuesAndTheirSum) {
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i) x[static_cast<std::size_t>(i)] = static_cast<float>(i - 20) * 0.5f;
  ActivationBlock blocks[2];
  quantize_activations(x.data(), 64, blocks);
  EXPECT_FLOAT_EQ(blocks[0].scale, 10.0f / 127.0f);  // block 0: -10 .. 5.5
  EXPECT_EQ(blocks[0].values[0], -127);
  int sum = 0;
  for (int j = 0; j < 32; ++j) {
    sum += blocks[0].values[j];
    EXPECT_NEAR(blocks[0].values[j] * blocks[0].scale, x[static_cast<std::size_t>(j)],
                blocks[0].scale / 2 + 1e-6f);
  }
  EXPECT_EQ(blocks[0].sum, sum);
  EXPECT_EQ(blocks[1].values[31], 127);  // block 1: 6 .. 21.5, the largest on 127
}

// Halves round away from zero (llama.cpp's roundf), and a value just below a half rounds down: the
// block's largest value is 127, so its scale is 1 and x is what gets rounded.
TEST(ActivationBlocks, RoundHalvesAwayFromZeroAsLlamaCppDoes) {
  std::vector<float> x(32, 0.0f);
  const float cases[] = {127.0f,      0.5f,         -0.5f,      1.5f,        -2.5f, 126.5f,
                         0.49999997f, -0.49999997f, 2.4999998f, -126.49999f, 3.0f,  -0.0f};
  for (std::size_t j = 0; j < std::size(cases); ++j) x[j] = cases[j];
  ActivationBlock block;
  quantize_activations(x.data(), 32, &block);
  ASSERT_EQ(block.scale, 1.0f);
  int sum = 0;
  for (std::size_t j = 0; j < 32; ++j) {
    EXPECT_EQ(block.values[j], std::lround(x[j])) << "x = " << x[j];
    sum += block.values[j];
  }
  EXPECT_EQ(block.sum, sum);
}

// A NaN in x (a broken model upstream) must not be undefined behaviour in the cast to int8: it
// takes no part in the scale and comes out as 127; the other values are quantized as usual.
TEST(ActivationBlocks, ANaNIsClampedNotCastBlindly) {
  std::vector<float> x(32, 1.0f);
  x[3] = std::numeric_limits<float>::quiet_NaN();
  x[5] = -127.0f;
  ActivationBlock block;
  quantize_activations(x.data(), 32, &block);
  EXPECT_EQ(block.scale, 1.0f);
  EXPECT_EQ(block.values[3], 127);
  EXPECT_EQ(block.values[5], -127);
  EXPECT_EQ(block.values[0], 1);
}

// Large enough for the threads to split the work. Six rows are prefill: v1, or v2 in a build
// without AVX-512 (then within x's rounding too).
TEST(QuantizedLinear, EqualsTheReferenceWhenThreadsSplitTheOutputs) {
  const Tensor x = random_normal_matrix(6, 512, 3);
  const Tensor weight = random_normal_matrix(300, 512, 4).to(DType::Q4_0);
  const Tensor dequantized = weight.to(DType::F32);
  const Tensor ours = linear(x, weight);
  const Tensor reference = linear(x, dequantized);
  const bool integer = !quantized_prefill_dequantizes() && using_integer_dot();
  for (std::int64_t r = 0; r < 6; ++r) {
    for (std::int64_t o = 0; o < 300; ++o) {
      const float expected = reference.at({r, o});
      const double allowed = 1e-5 * (std::fabs(expected) + 512) +
                             (integer ? activation_rounding_bound(x, dequantized, r, o) : 0.0);
      ASSERT_NEAR(ours.at({r, o}), expected, allowed) << "at [" << r << ", " << o << "]";
    }
  }
}

TEST(QuantizedLinear, AMismatchedInputIsAnError) {
  const Tensor weight = random_normal_matrix(4, 64, 5).to(DType::Q8_0);
  EXPECT_THROW(linear(random_normal_matrix(2, 32, 6), weight), Error);
  Tensor y = Tensor::zeros({2, 5});
  EXPECT_THROW(quantized_linear(random_normal_matrix(2, 64, 6), weight, y), Error);
}

}  // namespace
}  // namespace llama4
