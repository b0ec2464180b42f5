// gpu::quantized_linear (chapter 12's block formats on the GPU) against the CPU: the product of x
// with the dequantized weights in f32. The GPU keeps x in f32 and multiplies by d · q exactly, so
// only the order of the float sums differs: the bf16 linear's tolerance holds.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "common/tensors/matmul.hpp"
#include "common/tensors/tensor.hpp"
#include "gpu/device.hpp"
#include "gpu/quantized_matmul.hpp"
#include "tests/chapter09/gpu_test.hpp"

namespace llama4::testing {
namespace {

using gpu::DeviceBuffer;

std::vector<std::byte> packed_bytes(const Tensor& weight) {
  const std::byte* data = weight.raw_data();
  return std::vector<std::byte>(data, data + weight.nbytes());
}

// Checks the GPU product with a `format` weight of [out, in] against x · dequantized(W)ᵀ on the
// CPU, and that two runs agree bit for bit.
void expect_gpu_matches_cpu(DType format, std::int64_t rows, std::int64_t in, std::int64_t out) {
  std::mt19937 generator(static_cast<unsigned>(rows * 1000003 + in * 1009 + out));
  const Tensor x = Tensor::from_values({rows, in}, random_normal(rows * in, generator));
  const Tensor weight =
      Tensor::from_values({out, in}, random_normal(out * in, generator)).to(format);
  const Tensor want = linear(x, weight.to(DType::F32));

  const DeviceBuffer<float> x_device(to_vector(x));
  const DeviceBuffer<std::byte> weight_device(packed_bytes(weight));
  DeviceBuffer<float> y_device(static_cast<std::size_t>(rows * out));
  const auto run = [&] {
    gpu::quantized_linear(x_device.data(), weight_device.data(), format, y_device.data(), rows, in,
                          out);
    return y_device.to_host();
  };
  const std::vector<float> first = run();
  EXPECT_LT(nmse(first, to_vector(want)), kF32SumNmse) << dtype_name(format);
  EXPECT_TRUE(same_bits(run(), first)) << "a second run gave different bits";
}

// format, rows, in, out.
using Case = std::tuple<DType, int, int, int>;
class QuantizedLinearSizes : public GpuTestWithParam<Case> {};

TEST_P(QuantizedLinearSizes, MatchesTheCpuOnTheDequantizedWeights) {
  const auto [format, rows, in, out] = GetParam();
  expect_gpu_matches_cpu(format, rows, in, out);
}

INSTANTIATE_TEST_SUITE_P(OddSizes, QuantizedLinearSizes,
                         ::testing::Combine(::testing::Values(DType::Q8_0, DType::Q4_0,
                                                              DType::Q4_1),
                                            ::testing::Values(1, 3, 17),  // decode, and prompts
                                            ::testing::Values(32, 96, 288, 2080),  // 1 to 65 blocks
                                            ::testing::Values(1, 7, 257)),
                         [](const ::testing::TestParamInfo<Case>& case_info) {
                           return std::string(dtype_name(std::get<0>(case_info.param))) + "_" +
                                  std::to_string(std::get<1>(case_info.param)) + "x" +
                                  std::to_string(std::get<2>(case_info.param)) + "x" +
                                  std::to_string(std::get<3>(case_info.param));
                         });

// A scale that is a subnormal f16 (the smallest blocks of a near-zero row) must be read as one,
// not as zero: the conversion on the GPU is written by hand.
TEST_F(GpuTest, SubnormalScalesAreReadAsSuch) {
  // The first block's scale is 16e-6 / 127, below f16's smallest normal (6.1e-5); the second
  // block is zero. Every d · q is a small multiple of 2^-24, so any order of the sum is exact.
  std::vector<float> row(64, 0.0f);
  for (int i = 0; i < 32; ++i) row[i] = 1e-6f * static_cast<float>(i - 16);
  const Tensor weight = Tensor::from_values({1, 64}, row).to(DType::Q8_0);
  const Tensor x = Tensor::from_values({1, 64}, std::vector<float>(64, 1.0f));
  const Tensor want = linear(x, weight.to(DType::F32));

  const DeviceBuffer<float> x_device(to_vector(x));
  const DeviceBuffer<std::byte> weight_device(packed_bytes(weight));
  DeviceBuffer<float> y_device(1);
  gpu::quantized_linear(x_device.data(), weight_device.data(), DType::Q8_0, y_device.data(), 1, 64,
                        1);
  ASSERT_NE(want.at({0, 0}), 0.0f);
  EXPECT_EQ(y_device.to_host()[0], want.at({0, 0}));
}

TEST(QuantizedLinearArguments, AnInputNotInWholeBlocksIsAnError) {
  EXPECT_THROW(gpu::quantized_linear(nullptr, nullptr, DType::Q8_0, nullptr, 1, 33, 1), Error);
}

}  // namespace
}  // namespace llama4::testing
