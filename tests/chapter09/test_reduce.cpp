// Row sums on the GPU, one block per row (block_sum) and one warp per row (warp_allreduce_sum),
// against a double-precision sum on the CPU. The column counts straddle the warp widths (32, 64)
// and the block size (256), so partial warps and partial blocks are both exercised.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "gpu/device.hpp"
#include "gpu/reduce.hpp"
#include "tests/chapter09/gpu_test.hpp"

namespace llama4::testing {
namespace {

using gpu::DeviceBuffer;

std::vector<float> cpu_row_sums(const std::vector<float>& x, int rows, int cols) {
  std::vector<float> sums(rows);
  for (int r = 0; r < rows; ++r) {
    double sum = 0.0;
    for (int c = 0; c < cols; ++c) sum += x[static_cast<std::size_t>(r) * cols + c];
    sums[r] = static_cast<float>(sum);
  }
  return sums;
}

using RowSum = void (*)(const float*, float*, std::int64_t, std::int64_t);

void expect_row_sums_match(RowSum row_sum, int rows, int cols) {
  std::mt19937 generator(static_cast<unsigned>(rows * 7919 + cols));
  // Shifted away from zero so no row sums to nearly nothing (which would make every
  // comparison of sums meaningless); the NMSE bound is the same as for the products.
  std::vector<float> x = random_normal(static_cast<std::size_t>(rows) * cols, generator);
  for (float& value : x) value += 0.5f;
  const DeviceBuffer<float> x_device(x);
  DeviceBuffer<float> y_device(rows);
  row_sum(x_device.data(), y_device.data(), rows, cols);
  const std::vector<float> first = y_device.to_host();
  EXPECT_LT(nmse(first, cpu_row_sums(x, rows, cols)), kF32SumNmse);
  row_sum(x_device.data(), y_device.data(), rows, cols);
  EXPECT_TRUE(same_bits(y_device.to_host(), first)) << "a second run gave different bits";
}

// rows, cols.
using Sizes = std::tuple<int, int>;
class RowSumSizes : public GpuTestWithParam<Sizes> {};

TEST_P(RowSumSizes, OneBlockPerRowMatchesCpu) {
  const auto [rows, cols] = GetParam();
  expect_row_sums_match(gpu::row_sum, rows, cols);
}

TEST_P(RowSumSizes, OneWarpPerRowMatchesCpu) {
  const auto [rows, cols] = GetParam();
  expect_row_sums_match(gpu::row_sum_per_warp, rows, cols);
}

INSTANTIATE_TEST_SUITE_P(OddSizes, RowSumSizes,
                         ::testing::Combine(::testing::Values(1, 17, 100),
                                            ::testing::Values(1, 31, 32, 33, 63, 64, 65, 255, 256,
                                                              257, 1000, 5120)),
                         [](const ::testing::TestParamInfo<Sizes>& case_info) {
                           return std::to_string(std::get<0>(case_info.param)) + "x" +
                                  std::to_string(std::get<1>(case_info.param));
                         });

// Rows of ones: each sum is a whole number, exact in f32 whatever the order of the additions, so
// an element that is dropped or counted twice shows up as an exact mismatch.
TEST_F(GpuTest, RowSumsOfOnesAreExact) {
  for (const int cols : {1, 32, 33, 64, 65, 256, 257, 4099}) {
    const int rows = 9;
    const DeviceBuffer<float> x(std::vector<float>(static_cast<std::size_t>(rows) * cols, 1.0f));
    DeviceBuffer<float> y(rows);
    gpu::row_sum(x.data(), y.data(), rows, cols);
    EXPECT_EQ(y.to_host(), std::vector<float>(rows, static_cast<float>(cols)))
        << cols << " columns, per block";
    gpu::row_sum_per_warp(x.data(), y.data(), rows, cols);
    EXPECT_EQ(y.to_host(), std::vector<float>(rows, static_cast<float>(cols)))
        << cols << " columns, per warp";
  }
}

}  // namespace
}  // namespace llama4::testing
