// gpu::linear and gpu::matmul against their CPU twins in common/tensors/matmul.hpp, on random
// inputs, at sizes that are and are not multiples of the block size (256) and the warp widths (32,
// 64).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "common/tensors/matmul.hpp"
#include "common/tensors/tensor.hpp"
#include "gpu/device.hpp"
#include "gpu/matmul.hpp"
#include "tests/chapter09/gpu_test.hpp"

namespace llama4::testing {
namespace {

using gpu::DeviceBuffer;

// A random [rows, cols] matrix as a CPU tensor of `dtype`.
Tensor random_matrix(std::int64_t rows, std::int64_t cols, std::mt19937& generator, DType dtype) {
  const Tensor values = Tensor::from_values({rows, cols}, random_normal(rows * cols, generator));
  return dtype == DType::F32 ? values : values.to(dtype);
}

std::vector<bfloat16> bf16_values(const Tensor& tensor) {
  const bfloat16* data = tensor.data<bfloat16>();
  return std::vector<bfloat16>(data, data + tensor.numel());
}

// Which product, and how to run it on each side.
enum class Layout { kLinear, kMatmul };

// Runs the GPU product twice on the same inputs; checks it against the CPU function and that the
// two runs agree bit for bit.
void expect_gpu_matches_cpu(Layout layout, std::int64_t rows, std::int64_t in, std::int64_t out) {
  std::mt19937 generator(static_cast<unsigned>(rows * 1000003 + in * 1009 + out));
  const Tensor x = random_matrix(rows, in, generator, DType::F32);
  const Tensor weight = layout == Layout::kLinear ? random_matrix(out, in, generator, DType::BF16)
                                                  : random_matrix(in, out, generator, DType::BF16);
  const Tensor want = layout == Layout::kLinear ? linear(x, weight) : matmul(x, weight);

  const DeviceBuffer<float> x_device(to_vector(x));
  const DeviceBuffer<bfloat16> weight_device(bf16_values(weight));
  DeviceBuffer<float> y_device(static_cast<std::size_t>(rows * out));
  const auto run = [&] {
    if (layout == Layout::kLinear) {
      gpu::linear(x_device.data(), weight_device.data(), y_device.data(), rows, in, out);
    } else {
      gpu::matmul(x_device.data(), weight_device.data(), y_device.data(), rows, in, out);
    }
    return y_device.to_host();
  };
  const std::vector<float> first = run();
  EXPECT_LT(nmse(first, to_vector(want)), kF32SumNmse);
  EXPECT_TRUE(same_bits(run(), first)) << "a second run gave different bits";
}

// rows, in, out.
using Sizes = std::tuple<int, int, int>;
class MatmulSizes : public GpuTestWithParam<Sizes> {};

TEST_P(MatmulSizes, LinearMatchesCpu) {
  const auto [rows, in, out] = GetParam();
  expect_gpu_matches_cpu(Layout::kLinear, rows, in, out);
}

TEST_P(MatmulSizes, MatmulMatchesCpu) {
  const auto [rows, in, out] = GetParam();
  expect_gpu_matches_cpu(Layout::kMatmul, rows, in, out);
}

INSTANTIATE_TEST_SUITE_P(OddSizes, MatmulSizes,
                         ::testing::Values(
                             // matrix-vector (decoding one token)
                             Sizes{1, 1, 1}, Sizes{1, 31, 33}, Sizes{1, 64, 96}, Sizes{1, 255, 257},
                             Sizes{1, 256, 256}, Sizes{1, 1000, 513}, Sizes{1, 5120, 1024},
                             // matrix-matrix (a prompt)
                             Sizes{3, 5, 7}, Sizes{17, 33, 300}, Sizes{20, 130, 257},
                             Sizes{33, 64, 31}, Sizes{64, 512, 384}, Sizes{7, 2049, 65}),
                         [](const ::testing::TestParamInfo<Sizes>& case_info) {
                           return std::to_string(std::get<0>(case_info.param)) + "x" +
                                  std::to_string(std::get<1>(case_info.param)) + "x" +
                                  std::to_string(std::get<2>(case_info.param));
                         });

// in = 0: every output is a sum of nothing, so y must be overwritten with zeros, not left alone.
TEST_F(GpuTest, EmptyInnerDimensionGivesZeros) {
  const DeviceBuffer<float> x(0);
  const DeviceBuffer<bfloat16> weight(0);
  DeviceBuffer<float> y(std::vector<float>(6, 42.0f));
  gpu::linear(x.data(), weight.data(), y.data(), 2, 0, 3);
  EXPECT_EQ(y.to_host(), std::vector<float>(6, 0.0f));
  y.upload(std::vector<float>(6, 42.0f));
  gpu::matmul(x.data(), weight.data(), y.data(), 2, 0, 3);
  EXPECT_EQ(y.to_host(), std::vector<float>(6, 0.0f));
}

// The routed experts' weights are stacked [E, in, out]; expert e is a pointer offset.
TEST_F(GpuTest, MatmulOnOneExpertOfAStack) {
  constexpr int kExperts = 3, kRows = 5, kIn = 40, kOut = 70;
  std::mt19937 generator(3);
  const Tensor x = random_matrix(kRows, kIn, generator, DType::F32);
  const Tensor stack =
      Tensor::from_values({kExperts, kIn, kOut}, random_normal(kExperts * kIn * kOut, generator))
          .to(DType::BF16);
  const DeviceBuffer<float> x_device(to_vector(x));
  const DeviceBuffer<bfloat16> stack_device(bf16_values(stack));
  DeviceBuffer<float> y_device(kRows * kOut);
  for (int expert = 0; expert < kExperts; ++expert) {
    gpu::matmul(x_device.data(), stack_device.data() + expert * kIn * kOut, y_device.data(), kRows,
                kIn, kOut);
    const Tensor want = matmul(x, stack.select(expert));
    EXPECT_LT(nmse(y_device.to_host(), to_vector(want)), kF32SumNmse) << "expert " << expert;
  }
}

}  // namespace
}  // namespace llama4::testing
