// Chapter 12: the block formats Q8_0, Q4_0 and Q4_1, byte for byte.
//
// Hand-worked blocks first (chosen so that every scale is exactly 1 or -1 and each rounding rule
// shows), then the golden blocks of golden/quantization.py (llama.cpp's reference formulas written
// again in numpy; golden/check_llama_cpp_quantization.py checks them against llama.cpp's library),
// then the error bounds, the edge cases and the tensor type.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "common/debugging/data_paths.hpp"
#include "common/quantization/block_formats.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {
namespace {

using ::testing::HasSubstr;

std::vector<std::uint8_t> quantize_bytes(const std::vector<float>& x, DType format) {
  std::vector<std::uint8_t> bytes(dtype_bytes(format, static_cast<std::int64_t>(x.size())));
  quantize_row(x.data(), static_cast<std::int64_t>(x.size()), format,
               reinterpret_cast<std::byte*>(bytes.data()));
  return bytes;
}

std::vector<float> dequantize_bytes(const std::vector<std::uint8_t>& bytes, std::int64_t n,
                                    DType format) {
  std::vector<float> x(static_cast<std::size_t>(n));
  dequantize_row(reinterpret_cast<const std::byte*>(bytes.data()), n, format, x.data());
  return x;
}

TEST(BlockFormats, SizesAreLlamaCppsBitsPerWeight) {
  EXPECT_EQ(dtype_bytes(DType::Q8_0, 32), 34u);  // 8.5 bits per weight
  EXPECT_EQ(dtype_bytes(DType::Q4_0, 32), 18u);  // 4.5
  EXPECT_EQ(dtype_bytes(DType::Q4_1, 32), 20u);  // 5.0
  EXPECT_EQ(dtype_bytes(DType::Q4_0, 4096), 128u * 18u);
  EXPECT_THAT([] { dtype_bytes(DType::Q8_0, 33); },
              testing::ThrowsMessage<Error>(HasSubstr("not a whole number of 32-element blocks")));
  EXPECT_THAT([] { dtype_size(DType::Q4_0); },
              testing::ThrowsMessage<Error>(HasSubstr("no size of their own")));
  EXPECT_EQ(parse_quantization_format("Q4_1"), DType::Q4_1);
  EXPECT_THAT([] { parse_quantization_format("q3_k"); },
              testing::ThrowsMessage<Error>(HasSubstr("the formats are q8_0, q4_0 and q4_1")));
  EXPECT_FALSE(parse_dtype("Q8_0").has_value()) << "block types are not safetensors dtypes";
}

// max |x| = 127, so d = 1 and q = roundf(x): ties go away from zero (-64.5 -> -65), as C's roundf
// does and numpy's round (ties to even) would not.
TEST(BlockFormats, HandWorkedQ8_0Block) {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f, x[1] = -64.5f, x[2] = 3.5f, x[3] = -2.5f, x[4] = 0.49f, x[31] = -127.0f;
  const std::vector<std::uint8_t> bytes = quantize_bytes(x, DType::Q8_0);
  EXPECT_EQ(bytes[0], 0x00);  // d = f16 1.0 = 0x3C00, little-endian
  EXPECT_EQ(bytes[1], 0x3C);
  const auto q = [&](int j) { return static_cast<std::int8_t>(bytes[2 + j]); };
  EXPECT_EQ(q(0), 127);
  EXPECT_EQ(q(1), -65);
  EXPECT_EQ(q(2), 4);
  EXPECT_EQ(q(3), -3);
  EXPECT_EQ(q(4), 0);
  EXPECT_EQ(q(31), -127);
}

// The extreme -8 sets d = -8 / -8 = 1; q = min(15, trunc(x / d + 8.5)). Element j's nibble is the
// low half of byte j, element j + 16's the high half.
TEST(BlockFormats, HandWorkedQ4_0Block) {
  std::vector<float> x(32, 0.0f);
  x[0] = -8.0f, x[1] = 7.0f, x[2] = 7.6f, x[3] = 0.5f, x[4] = -0.5f, x[5] = 1.49f;
  x[16] = 2.0f, x[17] = -3.0f;
  const std::vector<std::uint8_t> bytes = quantize_bytes(x, DType::Q4_0);
  EXPECT_EQ(bytes[0], 0x00);  // d = 1.0
  EXPECT_EQ(bytes[1], 0x3C);
  const auto low = [&](int j) { return bytes[2 + j] & 0x0F; };
  const auto high = [&](int j) { return bytes[2 + j] >> 4; };
  EXPECT_EQ(low(0), 0);    // -8 + 8.5 = 0.5 -> 0
  EXPECT_EQ(low(1), 15);   // 15.5 -> 15
  EXPECT_EQ(low(2), 15);   // 16.1 -> 16, clamped to 15
  EXPECT_EQ(low(3), 9);    // 9.0
  EXPECT_EQ(low(4), 8);    // 8.0
  EXPECT_EQ(low(5), 9);    // 9.99 -> 9 (truncated)
  EXPECT_EQ(high(0), 10);  // element 16: 2 + 8.5 = 10.5 -> 10
  EXPECT_EQ(high(1), 5);   // element 17: -3 + 8.5 = 5.5 -> 5
  EXPECT_EQ(low(15), 8);   // zeros sit on 8
  const std::vector<float> back = dequantize_bytes(bytes, 32, DType::Q4_0);
  EXPECT_EQ(back[0], -8.0f);
  EXPECT_EQ(back[2], 7.0f) << "the clamped element loses up to a whole step";
  EXPECT_EQ(back[16], 2.0f);
}

// With a positive extreme d is negative: +8 lands on q = 0 and -8 on 16, clamped to 15 (-7).
TEST(BlockFormats, Q4_0PutsTheSignedExtremeOnTheExtraNegativeStep) {
  std::vector<float> x(32, 0.0f);
  x[0] = 8.0f, x[1] = -8.0f;
  const std::vector<float> back = dequantize_bytes(quantize_bytes(x, DType::Q4_0), 32, DType::Q4_0);
  EXPECT_EQ(back[0], 8.0f);
  EXPECT_EQ(back[1], -7.0f);
}

// min 0, max 15: d = 1, m = 0, q = x.
TEST(BlockFormats, HandWorkedQ4_1Block) {
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j % 16);
  const std::vector<std::uint8_t> bytes = quantize_bytes(x, DType::Q4_1);
  EXPECT_EQ(bytes[1], 0x3C);  // d = 1.0
  EXPECT_EQ(bytes[2], 0x00);  // m = 0.0
  EXPECT_EQ(bytes[3], 0x00);
  for (int j = 0; j < 16; ++j) EXPECT_EQ(bytes[4 + j], j | (j << 4)) << "byte " << j;
  EXPECT_EQ(dequantize_bytes(bytes, 32, DType::Q4_1), x);
}

// The bytes of golden/quantization.py, which implements llama.cpp's reference formulas
// independently (numpy), on random rows and on a row of edge-case blocks: all zero, one outlier,
// evenly spread, all negative, .5 ties, f16-subnormal scales, constant, large.
TEST(BlockFormats, BytesEqualLlamaCppsReferenceFormula) {
  const SafetensorsFile golden(golden_data_dir() / "quantization.safetensors");
  const Tensor input = golden.tensor("input");  // [R, 256] F32
  const std::int64_t rows = input.dim(0), columns = input.dim(1);
  for (const char* name : {"q8_0", "q4_0", "q4_1"}) {
    const DType format = parse_quantization_format(name);
    const Tensor expected = golden.tensor(name);  // [R, bytes per row] U8
    const Tensor expected_values = golden.tensor(std::string(name) + "_dequantized");
    const std::size_t row_bytes = dtype_bytes(format, columns);
    ASSERT_EQ(static_cast<std::size_t>(expected.dim(1)), row_bytes);
    for (std::int64_t r = 0; r < rows; ++r) {
      std::vector<std::byte> ours(row_bytes);
      const float* x = input.data<float>() + r * columns;
      quantize_row(x, columns, format, ours.data());
      const std::byte* theirs = expected.raw_data() + r * static_cast<std::int64_t>(row_bytes);
      for (std::size_t i = 0; i < row_bytes; ++i) {
        ASSERT_EQ(ours[i], theirs[i])
            << name << " row " << r << " block " << i / dtype_bytes(format, 32) << " byte "
            << i % dtype_bytes(format, 32);
      }
      std::vector<float> back(static_cast<std::size_t>(columns));
      dequantize_row(ours.data(), columns, format, back.data());
      for (std::int64_t i = 0; i < columns; ++i) {
        ASSERT_EQ(back[static_cast<std::size_t>(i)], expected_values.data<float>()[r * columns + i])
            << name << " row " << r << " element " << i;
      }
    }
  }
}

// |x - x̂| is at most half a step, plus what rounding d (and m) to f16 costs: up to 2^-11
// relative, times the largest q. Q4_0's clamped element (the extreme's opposite) may lose a
// whole step.
TEST(BlockFormats, RoundTripErrorIsWithinHalfAStep) {
  std::mt19937 random(5);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> x(32 * 64);
  for (float& v : x) v = normal(random);
  for (const DType format : {DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
    const std::vector<float> back =
        dequantize_bytes(quantize_bytes(x, format), static_cast<std::int64_t>(x.size()), format);
    for (std::size_t b = 0; b < x.size() / 32; ++b) {
      float low = x[b * 32], high = x[b * 32], largest = 0.0f;
      for (std::size_t j = b * 32; j < b * 32 + 32; ++j) {
        low = std::min(low, x[j]);
        high = std::max(high, x[j]);
        largest = std::max(largest, std::fabs(x[j]));
      }
      const float step = format == DType::Q8_0   ? largest / 127.0f
                         : format == DType::Q4_0 ? largest / 8.0f
                                                 : (high - low) / 15.0f;
      const float levels = format == DType::Q8_0 ? 127.0f : 15.0f;
      const float f16_rounding =
          levels * step * std::ldexp(1.0f, -11) +
          (format == DType::Q4_1 ? std::fabs(low) * std::ldexp(1.0f, -11) : 0);
      for (std::size_t j = b * 32; j < b * 32 + 32; ++j) {
        const float allowed = (format == DType::Q4_0 ? 1.0f : 0.5f) * step + f16_rounding + 1e-9f;
        EXPECT_LE(std::fabs(x[j] - back[j]), allowed)
            << dtype_name(format) << " block " << b << " element " << j - b * 32;
      }
    }
  }
}

// Where a block is not centred on zero, Q4_1's minimum pays for itself: the 16 levels cover
// [min, max] instead of [-max|x|, +max|x|].
TEST(BlockFormats, Q4_1BeatsQ4_0OnWeightsThatAreNotCentred) {
  std::mt19937 random(6);
  std::normal_distribution<float> normal(0.05f, 0.02f);
  std::vector<float> x(32 * 256);
  for (float& v : x) v = normal(random);
  const auto squared_error = [&](DType format) {
    const std::vector<float> back =
        dequantize_bytes(quantize_bytes(x, format), static_cast<std::int64_t>(x.size()), format);
    double sum = 0;
    for (std::size_t i = 0; i < x.size(); ++i) sum += (x[i] - back[i]) * (x[i] - back[i]);
    return sum;
  };
  EXPECT_LT(squared_error(DType::Q8_0), squared_error(DType::Q4_1));
  EXPECT_LT(squared_error(DType::Q4_1), 0.5 * squared_error(DType::Q4_0));
}

TEST(BlockFormats, AllZeroBlockStaysExactlyZero) {
  const std::vector<float> x(64, 0.0f);
  for (const DType format : {DType::Q8_0, DType::Q4_0, DType::Q4_1})
    EXPECT_EQ(dequantize_bytes(quantize_bytes(x, format), 64, format), x) << dtype_name(format);
}

// One outlier sets the block's step: in Q8_0 it is kept (to f16's precision) while the small
// weights of ITS block are flattened to zero; other blocks keep their own fine steps.
TEST(BlockFormats, AnOutlierCostsOnlyItsOwnBlock) {
  std::vector<float> x(64, 0.001f);
  x[5] = 100.0f;
  const std::vector<float> back = dequantize_bytes(quantize_bytes(x, DType::Q8_0), 64, DType::Q8_0);
  EXPECT_NEAR(back[5], 100.0f, 100.0f * std::ldexp(1.0f, -11));
  EXPECT_EQ(back[6], 0.0f);
  EXPECT_NEAR(back[40], 0.001f, 1e-6f);
}

TEST(BlockFormats, NotANumberOrInfinityIsAnErrorNamingTheElement) {
  for (const float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    std::vector<float> x(64, 0.5f);
    x[37] = bad;
    for (const DType format : {DType::Q8_0, DType::Q4_0, DType::Q4_1}) {
      EXPECT_THAT([&] { quantize_bytes(x, format); },
                  testing::ThrowsMessage<Error>(HasSubstr("element 37 of the row is")));
    }
  }
}

TEST(BlockFormats, AScaleBeyondFloat16IsAnError) {
  std::vector<float> x(32, 1.0f);
  x[3] = 1e7f;  // d = 1e7 / 127 > 65504
  EXPECT_THAT([&] { quantize_bytes(x, DType::Q8_0); },
              testing::ThrowsMessage<Error>(HasSubstr("beyond f16's range")));
}

TEST(BlockFormats, RowsMustBeWholeBlocks) {
  const std::vector<float> x(40, 1.0f);
  EXPECT_THAT([&] { quantize_row(x.data(), 40, DType::Q8_0, nullptr); },
              testing::ThrowsMessage<Error>(HasSubstr("not a whole number of 32-weight blocks")));
}

// The tensor type: .to(Q8_0) quantizes each row, .to(F32) dequantizes; views select whole rows.
TEST(QuantizedTensor, ToQuantizesRowsAndViewsSelectWholeRows) {
  std::mt19937 random(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(3 * 4 * 64);
  for (float& v : values) v = normal(random);
  const Tensor x = Tensor::from_values({3, 4, 64}, values);
  const Tensor q = x.to(DType::Q8_0);
  EXPECT_EQ(q.dtype(), DType::Q8_0);
  EXPECT_EQ(q.shape(), (Shape{3, 4, 64}));
  EXPECT_EQ(q.nbytes(), 3u * 4u * 2u * 34u);
  const Tensor back = q.to(DType::F32);
  const Tensor second = q.select(2);  // a [4, 64] view 2 · 4 · 2 blocks in
  EXPECT_EQ(second.raw_data(), q.raw_data() + 2 * 4 * 2 * 34);
  EXPECT_EQ(second.at({1, 33}), back.at({2, 1, 33}));
  EXPECT_NEAR(back.at({2, 1, 33}), x.at({2, 1, 33}), 0.02f);
  EXPECT_EQ(q.to(DType::BF16).at({0, 0, 0}),
            bfloat16_to_float(float_to_bfloat16(back.at({0, 0, 0}))));
}

TEST(QuantizedTensor, WhatABlockCannotDoIsAnError) {
  const Tensor q = Tensor::from_values({2, 64}, std::vector<float>(128, 1.0f)).to(DType::Q4_0);
  EXPECT_THAT([&] { q.slice(1, 0, 16); },
              testing::ThrowsMessage<Error>(HasSubstr("whole 32-element blocks")));
  Tensor writable = q.clone();
  EXPECT_THAT(
      [&] {
        writable.set({0, 0}, 2.0f);
      },
      testing::ThrowsMessage<Error>(HasSubstr("cannot be written alone")));
  EXPECT_THAT(
      [] {
        Tensor::zeros({4, 40}, DType::Q8_0);
      },
      testing::ThrowsMessage<Error>(HasSubstr("rows must be whole 32-element blocks")));
  std::vector<float> with_nan(128, 1.0f);
  with_nan[64 + 3] = std::nanf("");
  EXPECT_THAT(
      [&] {
        Tensor::from_values({2, 64}, with_nan).to(DType::Q8_0);
      },
      testing::ThrowsMessage<Error>(HasSubstr("row 1 of a [2, 64] tensor: element 3")));
}

}  // namespace
}  // namespace llama4
