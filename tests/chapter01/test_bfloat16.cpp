// bf16 <-> f32 and f16 -> f32 conversions: rounding, ties, subnormals, NaN and Inf.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "common/tensors/bfloat16.hpp"

namespace llama4 {
namespace {

std::uint16_t to_bits(float value) {
  return float_to_bfloat16(value).bits;
}
float from_float_bits(std::uint32_t bits) {
  return std::bit_cast<float>(bits);
}

// An independent rounding reference: of the two bf16 values around x (truncation and the next one
// up in magnitude) pick the nearer, measured in double; on an exact tie pick the even one.
std::uint16_t reference_round(float x) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
  const auto below = static_cast<std::uint16_t>(bits >> 16);
  const auto above = static_cast<std::uint16_t>(below + 1);
  const double low = bfloat16_to_float({below});
  const double high = bfloat16_to_float({above});
  const double distance_low = std::fabs(static_cast<double>(x) - low);
  const double distance_high = std::fabs(static_cast<double>(x) - high);
  if (distance_low < distance_high) return below;
  if (distance_high < distance_low) return above;
  return (below & 1u) == 0 ? below : above;
}

TEST(BFloat16, WideningIsExact) {
  EXPECT_EQ(bfloat16_to_float({0x3f80}), 1.0f);
  EXPECT_EQ(bfloat16_to_float({0xc000}), -2.0f);
  EXPECT_EQ(bfloat16_to_float({0x4049}), 3.140625f);
}

TEST(BFloat16, RoundsTiesToEven) {
  // One bf16 ulp at 1.0 is 2^-7. 1 + 2^-8 lies exactly halfway between 1.0 (0x3f80, even) and
  // 1 + 2^-7 (0x3f81, odd): ties go to even, i.e. down.
  EXPECT_EQ(to_bits(1.0f + 0x1p-8f), 0x3f80);
  // 1 + 3·2^-8 is halfway between 0x3f81 (odd) and 0x3f82 (even): up.
  EXPECT_EQ(to_bits(1.0f + 3 * 0x1p-8f), 0x3f82);
  // A hair above halfway rounds up, a hair below rounds down.
  EXPECT_EQ(to_bits(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
  EXPECT_EQ(to_bits(1.0f + 0x1p-8f - 0x1p-20f), 0x3f80);
  // Negative numbers round the magnitude the same way.
  EXPECT_EQ(to_bits(-(1.0f + 0x1p-8f)), 0xbf80);
  EXPECT_EQ(to_bits(-(1.0f + 3 * 0x1p-8f)), 0xbf82);
}

TEST(BFloat16, CarryIntoExponent) {
  // 0x3fffffff rounds up past the mantissa into the next power of two: 2.0.
  EXPECT_EQ(bfloat16_to_float(float_to_bfloat16(from_float_bits(0x3fffffff))), 2.0f);
}

TEST(BFloat16, SubnormalsRoundCorrectly) {
  // The smallest bf16 subnormal is 0x0001 = f32 bits 0x00010000. Half of it ties to even (0).
  EXPECT_EQ(to_bits(from_float_bits(0x00008000)), 0x0000);
  EXPECT_EQ(to_bits(from_float_bits(0x00008001)), 0x0001);
  // 1.5 smallest subnormals ties between 0x0001 (odd) and 0x0002 (even).
  EXPECT_EQ(to_bits(from_float_bits(0x00018000)), 0x0002);
  EXPECT_EQ(to_bits(from_float_bits(0x00000001)), 0x0000);
  EXPECT_EQ(bfloat16_to_float({0x0001}), from_float_bits(0x00010000));
  EXPECT_TRUE(std::signbit(bfloat16_to_float(float_to_bfloat16(-0.0f))));
}

TEST(BFloat16, InfinityAndOverflow) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(to_bits(inf), 0x7f80);
  EXPECT_EQ(to_bits(-inf), 0xff80);
  // The largest finite float is above the largest finite bf16 by more than half an ulp: Inf.
  EXPECT_EQ(to_bits(std::numeric_limits<float>::max()), 0x7f80);
  // The largest finite bf16 itself survives.
  EXPECT_EQ(to_bits(bfloat16_to_float({0x7f7f})), 0x7f7f);
}

TEST(BFloat16, NaNStaysNaN) {
  // A NaN whose payload sits only in the low 16 bits would become Inf if simply truncated.
  const float low_payload_nan = from_float_bits(0x7f800001);
  ASSERT_TRUE(std::isnan(low_payload_nan));
  EXPECT_TRUE(std::isnan(bfloat16_to_float(float_to_bfloat16(low_payload_nan))));
  EXPECT_TRUE(std::isnan(bfloat16_to_float(float_to_bfloat16(-low_payload_nan))));
  EXPECT_TRUE(std::isnan(bfloat16_to_float(float_to_bfloat16(std::nanf("")))));
  // Rounding must not carry a NaN with 0xffff low bits into the sign bit either.
  EXPECT_TRUE(std::isnan(bfloat16_to_float(float_to_bfloat16(from_float_bits(0x7fffffff)))));
}

TEST(BFloat16, EveryBFloat16SurvivesARoundTrip) {
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const bfloat16 value{static_cast<std::uint16_t>(bits)};
    const float widened = bfloat16_to_float(value);
    if (std::isnan(widened)) {
      EXPECT_TRUE(std::isnan(bfloat16_to_float(float_to_bfloat16(widened))));
    } else {
      ASSERT_EQ(float_to_bfloat16(widened).bits, bits) << "bf16 bits " << bits;
    }
  }
}

TEST(BFloat16, MatchesIndependentRoundingOnRandomFloats) {
  std::mt19937 generator(1234);
  std::uniform_int_distribution<std::uint32_t> any_bits;
  int checked = 0;
  while (checked < 200000) {
    const std::uint32_t bits = any_bits(generator);
    const float x = from_float_bits(bits);
    if (!std::isfinite(x) || (bits & 0x7fffffffu) >= 0x7f7f8000u) continue;  // near-overflow
    ASSERT_EQ(to_bits(x), reference_round(x)) << "float bits 0x" << std::hex << bits;
    ++checked;
  }
}

TEST(Float16, WidensEveryKindOfValue) {
  EXPECT_EQ(float16_to_float({0x3c00}), 1.0f);
  EXPECT_EQ(float16_to_float({0xc000}), -2.0f);
  EXPECT_EQ(float16_to_float({0x7bff}), 65504.0f);         // largest finite half
  EXPECT_EQ(float16_to_float({0x0001}), 0x1p-24f);         // smallest subnormal
  EXPECT_EQ(float16_to_float({0x03ff}), 1023 * 0x1p-24f);  // largest subnormal
  EXPECT_EQ(float16_to_float({0x0400}), 0x1p-14f);         // smallest normal
  EXPECT_EQ(float16_to_float({0x3555}), 0.333251953125f);
  EXPECT_TRUE(std::signbit(float16_to_float({0x8000})));
  EXPECT_EQ(float16_to_float({0x7c00}), std::numeric_limits<float>::infinity());
  EXPECT_EQ(float16_to_float({0xfc00}), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(float16_to_float({0x7e00})));
  EXPECT_TRUE(std::isnan(float16_to_float({0x7c01})));
}

TEST(Float16, AgreesWithLdexpOnEveryFiniteValue) {
  // An independent decoding of the IEEE half format with ldexp.
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const std::uint32_t exponent = (bits >> 10) & 0x1f;
    if (exponent == 0x1f) continue;
    const double mantissa = bits & 0x3ff;
    double value = exponent == 0
                       ? std::ldexp(mantissa, -24)
                       : std::ldexp(1.0 + mantissa / 1024.0, static_cast<int>(exponent) - 15);
    if (bits & 0x8000) value = -value;
    ASSERT_EQ(float16_to_float({static_cast<std::uint16_t>(bits)}), static_cast<float>(value))
        << "half bits " << bits;
  }
}

TEST(Float16, EveryHalfSurvivesARoundTrip) {
  for (std::uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const float widened = float16_to_float({static_cast<std::uint16_t>(bits)});
    if (std::isnan(widened)) {
      EXPECT_TRUE(std::isnan(float16_to_float(float_to_float16(widened))));
    } else {
      ASSERT_EQ(float_to_float16(widened).bits, bits) << "half bits " << bits;
    }
  }
}

TEST(Float16, NarrowingRoundsToNearestEvenEverywhere) {
  // Between every pair of neighbouring halves, the midpoint must go to the even one and points
  // a little either side to the nearer one; this covers subnormals, normals and the top of the
  // range.
  for (std::uint32_t bits = 0; bits < 0x7bff; ++bits) {
    const float low = float16_to_float({static_cast<std::uint16_t>(bits)});
    const float high = float16_to_float({static_cast<std::uint16_t>(bits + 1)});
    const float middle = (low + high) / 2;  // exact in float
    const std::uint32_t even = (bits & 1u) == 0 ? bits : bits + 1;
    ASSERT_EQ(float_to_float16(middle).bits, even)
        << "between half bits " << bits << " and the next";
    ASSERT_EQ(float_to_float16(std::nextafter(middle, low)).bits, bits);
    ASSERT_EQ(float_to_float16(std::nextafter(middle, high)).bits, bits + 1);
  }
  EXPECT_EQ(float_to_float16(65519.0f).bits, 0x7bff);  // just under the rounding edge
  EXPECT_EQ(float_to_float16(65520.0f).bits, 0x7c00);  // rounds to Inf
  EXPECT_EQ(float_to_float16(-1e9f).bits, 0xfc00);
  EXPECT_EQ(float_to_float16(1e-9f).bits, 0x0000);
}

}  // namespace
}  // namespace llama4
