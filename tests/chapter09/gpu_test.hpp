// What the chapter 09 tests share: the fixture that skips without a GPU, and the comparisons.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "common/quantization/integer_dot.hpp"
#include "common/tensors/bfloat16_dot.hpp"
#include "common/tensors/tensor.hpp"
#include "gpu/device.hpp"

namespace llama4::testing {

// True when REQUIRE_GPU is set to anything but "" or "0". Set it on the GPU machine, where a
// missing GPU (or a driver too old for the CUDA runtime) must fail the tests, not skip them.
inline bool gpu_required() {
  const char* value = std::getenv("REQUIRE_GPU");
  return value != nullptr && *value != '\0' && std::string(value) != "0";
}

// Tests that need a GPU derive from this. Without one they are skipped, with the reason, so the
// suite passes on machines with no GPU (or a build with GPU_BACKEND=off); with REQUIRE_GPU=1 they
// fail instead. (A failure or skip in SetUp stops the test before its body runs.)
//
// The CPU is the reference, so it is set to compute what the GPU's kernels compute: bf16 weights
// times f32 activations, and quantized weights dequantized to f32 (chapter 12). Its defaults round
// x to bf16 (with AVX-512 BF16) or to int8 (quantized decode), which the GPU does not.
class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_bf16_kernel(Bf16Kernel::widen_to_float);
    set_quantized_kernel(QuantizedKernel::dequantize_to_float);
    const gpu::DeviceInfo device = gpu::probe();
    if (device.available) return;
    if (gpu_required())
      GTEST_FAIL() << "REQUIRE_GPU is set but there is no usable GPU: " << device.reason;
    GTEST_SKIP() << "no usable GPU: " << device.reason;
  }
  void TearDown() override {
    set_bf16_kernel(Bf16Kernel::automatic);
    set_quantized_kernel(QuantizedKernel::automatic);
  }
};

template <class Parameter>
class GpuTestWithParam : public GpuTest, public ::testing::WithParamInterface<Parameter> {};

// `count` numbers from a standard normal distribution.
inline std::vector<float> random_normal(std::size_t count, std::mt19937& generator) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(count);
  for (float& value : values) value = normal(generator);
  return values;
}

// The elements of a contiguous F32 tensor.
inline std::vector<float> to_vector(const Tensor& tensor) {
  const float* data = tensor.data<float>();
  return std::vector<float>(data, data + tensor.numel());
}

// Normalised mean squared error, sum (ours - reference)^2 / sum reference^2, the measure
// llama.cpp's test-backend-ops uses to compare a GPU op with the CPU's: it does not blow up on the
// elements that happen to be near zero, as a per-element relative error would. A NaN anywhere
// makes it NaN, which fails every `<` comparison.
inline double nmse(const std::vector<float>& ours, const std::vector<float>& reference) {
  EXPECT_EQ(ours.size(), reference.size());
  double error = 0.0;
  double norm = 0.0;
  for (std::size_t i = 0; i < ours.size() && i < reference.size(); ++i) {
    const double difference = static_cast<double>(ours[i]) - reference[i];
    error += difference * difference;
    norm += static_cast<double>(reference[i]) * reference[i];
  }
  return error / std::max(norm, 1e-30);
}

// f32 sums of thousands of products, added in another order on the GPU than on the CPU, differ by
// an NMSE of about 1e-13 (measured by replaying the kernels' order of additions on the CPU, for
// sums of up to 16384 terms). One wrong element in a thousand gives about 1e-3. 1e-9 sits safely
// between.
inline constexpr double kF32SumNmse = 1e-9;

// Bit-for-bit equality of two float vectors (NaNs included, which == would call unequal).
inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](float x, float y) {
           return std::bit_cast<std::uint32_t>(x) == std::bit_cast<std::uint32_t>(y);
         });
}

}  // namespace llama4::testing
