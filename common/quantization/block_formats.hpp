// Block quantization: 32 weights share one scale (chapter 12).
//
// A bf16 weight costs 2 bytes, and decoding one token reads every weight it uses once, so decode
// speed is memory bandwidth divided by bytes per weight. Quantization stores each weight in 8 or 4
// bits instead. One scale for a whole matrix would waste those bits (a single outlier would set
// the step for everything), so the scale is per BLOCK of 32 consecutive weights of a row, along
// the input dimension, the one a dot product runs over:
//
//   Q8_0  x ≈ d · q          q in -127..127 (int8)      d = max|x| / 127          34 bytes/32
//   Q4_0  x ≈ d · (q - 8)    q in 0..15 (a nibble)      d = -(the x of largest |x|) / 8
//                                                                                 18 bytes/32
//   Q4_1  x ≈ d · q + m      q in 0..15                 m = min x, d = (max - min) / 15
//                                                                                 20 bytes/32
//
// d and m are stored as f16. These are llama.cpp's layouts and its reference formulas
// (ggml-quants.c, quantize_row_*_ref), byte for byte, so a block we write is a block llama.cpp
// reads (tests/chapter12 and golden/quantization.py check it). In bits per weight: Q8_0 8.5,
// Q4_0 4.5, Q4_1 5.0; bf16 is 16.
//
// Why Q4_0 takes the SIGNED extreme and divides by -8: the nibbles 0..15 stand for -8..7, one
// more step on the negative side. Mapping the largest-magnitude weight onto -8 uses that extra
// step, whichever its sign, so the extreme is stored exactly and the rest get the finest step.
// Q4_1 spends 16 more bits per block on the minimum so the 16 levels cover [min, max] instead of
// [-|x|max, +|x|max]: when a block's weights are not centred on zero, the step is smaller.
//
// The nibble order is a trap: byte j of a Q4 block holds element j in its LOW four bits and
// element j + 16 in its HIGH four bits (not elements 2j and 2j + 1). It lets a SIMD kernel split a
// block into its two halves with one mask and one shift.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/tensors/bfloat16.hpp"
#include "common/tensors/dtype.hpp"

namespace llama4 {

constexpr std::int64_t kQuantBlock = 32;  // weights per block, in every format here

struct BlockQ8_0 {
  float16 scale;                    // d
  std::int8_t values[kQuantBlock];  // q: x ≈ d · q
};
struct BlockQ4_0 {
  float16 scale;                          // d
  std::uint8_t nibbles[kQuantBlock / 2];  // byte j: element j (low bits), j + 16 (high bits)
};
struct BlockQ4_1 {
  float16 scale;    // d
  float16 minimum;  // m
  std::uint8_t nibbles[kQuantBlock / 2];
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20,
              "block layouts must match llama.cpp's byte for byte");

// The formats a user can name: "q8_0" -> DType::Q8_0 (case-insensitive); an Error listing the
// formats otherwise.
DType parse_quantization_format(std::string_view name);

// x: [n] floats -> n / 32 blocks of `format` written to `blocks`. n must be a multiple of 32, and
// every x finite: a NaN or an infinity would poison the whole block's scale (an Error naming the
// element's index; callers add the tensor's name).
void quantize_row(const float* x, std::int64_t n, DType format, std::byte* blocks);

// The inverse: n / 32 blocks -> n floats.
void dequantize_row(const std::byte* blocks, std::int64_t n, DType format, float* x);

// Element `index` (0..31) of one block, as a float. For printing and tests.
float dequantize_element(const std::byte* block, DType format, int index);

}  // namespace llama4
