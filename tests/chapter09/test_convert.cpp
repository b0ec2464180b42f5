// bf16 <-> f32 on the GPU against common/tensors/bfloat16.hpp: these must agree bit for bit.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "common/tensors/bfloat16.hpp"
#include "gpu/convert.hpp"
#include "gpu/device.hpp"
#include "tests/chapter09/gpu_test.hpp"

namespace llama4::testing {
namespace {

using gpu::DeviceBuffer;

// Floats that exercise every rounding case: random normals, ties (exactly half way between two
// bf16 values, with even and odd last kept bit), signed zeros, subnormals, the largest floats
// (which round to Inf), Inf and NaN.
std::vector<float> tricky_floats(std::size_t count, std::mt19937& generator) {
  std::vector<float> values = random_normal(count, generator);
  const std::vector<float> special = {
      0.0f,
      -0.0f,
      1.0f,
      -1.0f,
      std::bit_cast<float>(0x3f808000u),  // tie, last kept bit 0: rounds down
      std::bit_cast<float>(0x3f818000u),  // tie, last kept bit 1: rounds up
      std::bit_cast<float>(0x3f808001u),  // just above a tie: rounds up
      std::numeric_limits<float>::denorm_min(),
      -std::numeric_limits<float>::denorm_min(),
      std::numeric_limits<float>::min(),
      std::numeric_limits<float>::max(),
      -std::numeric_limits<float>::max(),
      std::numeric_limits<float>::infinity(),
      -std::numeric_limits<float>::infinity(),
      std::numeric_limits<float>::quiet_NaN(),
      std::bit_cast<float>(0x7f800001u),  // a NaN whose only mantissa bit is dropped by truncation
  };
  for (std::size_t i = 0; i < special.size() && i < values.size(); ++i) values[i] = special[i];
  return values;
}

// Sizes around the block size (256), and one that needs many blocks.
class ConvertSizes : public GpuTestWithParam<int> {};

TEST_P(ConvertSizes, Bf16ToF32IsExact) {
  const int count = GetParam();
  std::mt19937 generator(count);
  std::vector<bfloat16> x(count);
  std::vector<float> want(count);
  const std::vector<float> source = tricky_floats(count, generator);
  for (int i = 0; i < count; ++i) {
    x[i] = float_to_bfloat16(source[i]);
    want[i] = bfloat16_to_float(x[i]);
  }
  const DeviceBuffer<bfloat16> x_device(x);
  DeviceBuffer<float> y_device(count);
  gpu::bf16_to_f32(x_device.data(), y_device.data(), count);
  const std::vector<float> first = y_device.to_host();
  EXPECT_TRUE(same_bits(first, want));
  gpu::bf16_to_f32(x_device.data(), y_device.data(), count);
  EXPECT_TRUE(same_bits(y_device.to_host(), first)) << "a second run gave different bits";
}

TEST_P(ConvertSizes, F32ToBf16RoundsLikeTheCpu) {
  const int count = GetParam();
  std::mt19937 generator(count + 1);
  const std::vector<float> x = tricky_floats(count, generator);
  const DeviceBuffer<float> x_device(x);
  DeviceBuffer<bfloat16> y_device(count);
  gpu::f32_to_bf16(x_device.data(), y_device.data(), count);
  const std::vector<bfloat16> first = y_device.to_host();
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(first[i].bits, float_to_bfloat16(x[i]).bits)
        << "element " << i << ", float bits 0x" << std::hex << std::bit_cast<std::uint32_t>(x[i]);
  }
  gpu::f32_to_bf16(x_device.data(), y_device.data(), count);
  const std::vector<bfloat16> second = y_device.to_host();
  for (int i = 0; i < count; ++i)
    ASSERT_EQ(second[i].bits, first[i].bits) << "second run, element " << i;
}

INSTANTIATE_TEST_SUITE_P(OddSizes, ConvertSizes,
                         ::testing::Values(1, 17, 255, 256, 257, 1000, 65537));

}  // namespace
}  // namespace llama4::testing
