// Chapter 12: the quantized matrix product against dequantize-then-f32.
//
// The reference is the plain f32 product of the dequantized weights (Tensor::to(F32) then the f32
// kernel): the same numbers in another order, so the two agree to f32 rounding. Odd shapes reach
// every path: one to nine rows (decode's dot products and prefill's 4 x 4 tiles, with leftovers),
// output counts that are not multiples of four, one block and several per row.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "common/quantization/block_formats.hpp"
#include "common/quantization/quantized_matmul.hpp"
#include "common/tensors/matmul.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {
namespace {

Tensor random_matrix(std::int64_t rows, std::int64_t columns, std::uint32_t seed, float mean = 0) {
  std::mt19937 random(seed);
  std::normal_distribution<float> normal(mean, 1.0f);
  std::vector<float> values(static_cast<std::size_t>(rows * columns));
  for (float& v : values) v = normal(random);
  return Tensor::from_values({rows, columns}, values);
}

TEST(QuantizedLinear, EqualsTheProductOfTheDequantizedWeightsOnOddShapes) {
  for (const DType format : {DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
    for (const std::int64_t rows : {1, 3, 4, 5, 9}) {
      for (const std::int64_t out : {1, 3, 5, 17}) {
        for (const std::int64_t in : {32, 96, 160}) {
          const Tensor x = random_matrix(rows, in, 1);
          const Tensor weight = random_matrix(out, in, 2, 0.3f).to(format);
          const Tensor ours = linear(x, weight);
          const Tensor reference = linear(x, weight.to(DType::F32));
          for (std::int64_t r = 0; r < rows; ++r) {
            for (std::int64_t o = 0; o < out; ++o) {
              const float expected = reference.at({r, o});
              ASSERT_NEAR(ours.at({r, o}), expected, 1e-5f * (std::fabs(expected) + in))
                  << dtype_name(format) << " rows " << rows << " out " << out << " in " << in
                  << " at [" << r << ", " << o << "]";
            }
          }
        }
      }
    }
  }
}

// Large enough for the threads to split the work.
TEST(QuantizedLinear, EqualsTheReferenceWhenThreadsSplitTheOutputs) {
  const Tensor x = random_matrix(6, 512, 3);
  const Tensor weight = random_matrix(300, 512, 4).to(DType::Q4_0);
  const Tensor ours = linear(x, weight);
  const Tensor reference = linear(x, weight.to(DType::F32));
  for (std::int64_t i = 0; i < ours.numel(); ++i)
    ASSERT_NEAR(ours.flat(i), reference.flat(i), 1e-5f * (std::fabs(reference.flat(i)) + 512));
}

TEST(QuantizedLinear, AMismatchedInputIsAnError) {
  const Tensor weight = random_matrix(4, 64, 5).to(DType::Q8_0);
  EXPECT_THROW(linear(random_matrix(2, 32, 6), weight), Error);
  Tensor y = Tensor::zeros({2, 5});
  EXPECT_THROW(quantized_linear(random_matrix(2, 64, 6), weight, y), Error);
}

}  // namespace
}  // namespace llama4
