// bfloat16 and float16: the 16-bit number formats checkpoints are stored in.
//
// A float32 is 1 sign bit, 8 exponent bits and 23 mantissa bits. bfloat16 ("brain float") keeps
// the sign and all 8 exponent bits and only the top 7 mantissa bits: it is simply the upper half
// of a float32. So it covers the same range as float32 (no overflow surprises when converting a
// model trained in fp32) with about 3 significant decimal digits. Llama 4 ships in bf16.
//
//   float32  s eeeeeeee mmmmmmmmmmmmmmmmmmmmmmm
//   bfloat16 s eeeeeeee mmmmmmm                  (the upper 16 bits)
//   float16  s eeeee    mmmmmmmmmm               (IEEE half: narrower range, more mantissa)
//
// bf16 -> f32 is exact (append 16 zero bits). f32 -> bf16 drops 16 bits and must round; we round to
// nearest, ties to even, like PyTorch, so our conversions are bit-identical to the reference.
#pragma once

#include <bit>
#include <cstdint>

namespace llama4 {

// The 16 bits of one bfloat16 value. A struct, not a bare uint16_t, so a bf16 buffer cannot be
// mistaken for integers by the type system.
struct bfloat16 {
  std::uint16_t bits;
};

inline float bfloat16_to_float(bfloat16 value) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(value.bits) << 16);
}

// [excerpt float_to_bfloat16]
inline bfloat16 float_to_bfloat16(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  // NaN: truncating could clear every mantissa bit that is set and turn it into Inf. Keep the sign
  // and the top mantissa bits, and set the "quiet" bit so the result is still a NaN.
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    return {static_cast<std::uint16_t>((bits >> 16) | 0x0040u)};
  }
  // Round to nearest, ties to even: add 0x7fff, plus 1 more when the bit that will become the
  // last kept bit is odd. A carry out of the mantissa correctly bumps the exponent, and the largest
  // finite floats correctly round up to Inf. Inf itself passes through unchanged.
  const std::uint32_t lowest_kept_bit = (bits >> 16) & 1u;
  return {static_cast<std::uint16_t>((bits + 0x7fffu + lowest_kept_bit) >> 16)};
}
// [end excerpt]

// IEEE 754 half precision, as some checkpoints store it.
struct float16 {
  std::uint16_t bits;
};

inline float float16_to_float(float16 value) {
  const std::uint16_t half = value.bits;
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1fu;
  std::uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0x1f) {  // Inf or NaN: all-ones exponent in both formats, mantissa shifted up
    return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  }
  if (exponent == 0) {
    if (mantissa == 0) return std::bit_cast<float>(sign);  // +0 or -0
    // Subnormal half: value = mantissa * 2^-24. Normalise it, since float32 has exponent to spare.
    int shift = 0;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      ++shift;
    }
    mantissa &= 0x3ffu;
    const std::uint32_t float_exponent = static_cast<std::uint32_t>(127 - 15 + 1 - shift);
    return std::bit_cast<float>(sign | (float_exponent << 23) | (mantissa << 13));
  }
  const std::uint32_t float_exponent = exponent - 15 + 127;  // re-bias 15 -> 127
  return std::bit_cast<float>(sign | (float_exponent << 23) | (mantissa << 13));
}

// float -> half, rounding to nearest even. Values beyond the half range become Inf; values below
// it become half subnormals or zero, rounded the same way.
inline float16 float_to_float16(float value) {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return {static_cast<std::uint16_t>(sign | 0x7e00u)};  // NaN
  if (magnitude >= 0x477ff000u)
    return {static_cast<std::uint16_t>(sign | 0x7c00u)};  // >= 65520: Inf
  if (magnitude < 0x38800000u) {
    // Below the smallest normal half (2^-14): the result is subnormal, value = m * 2^-24. Shift the
    // full 24-bit float mantissa right so that its units are 2^-24, rounding ties to even.
    if (magnitude < 0x33000000u) return {sign};  // below half the smallest subnormal: zero
    const std::uint32_t exponent = magnitude >> 23;
    const std::uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126 - exponent;  // 14..24
    const std::uint32_t kept = mantissa >> shift;
    const std::uint32_t dropped = mantissa & ((1u << shift) - 1);
    const std::uint32_t half_way = 1u << (shift - 1);
    const std::uint32_t rounded =
        kept + (dropped > half_way || (dropped == half_way && (kept & 1u)));
    return {static_cast<std::uint16_t>(sign | rounded)};
  }
  // Normal: re-bias the exponent (127 -> 15) and drop 13 mantissa bits, rounding ties to even. A
  // carry out of the mantissa bumps the exponent, which is exactly right.
  const std::uint32_t rebiased = magnitude - ((127u - 15u) << 23);
  const std::uint32_t lowest_kept_bit = (rebiased >> 13) & 1u;
  return {static_cast<std::uint16_t>(sign | ((rebiased + 0xfffu + lowest_kept_bit) >> 13))};
}

// Widening for generic code that reads weights of any of the float types.
inline float to_float(float value) {
  return value;
}
inline float to_float(bfloat16 value) {
  return bfloat16_to_float(value);
}
inline float to_float(float16 value) {
  return float16_to_float(value);
}

}  // namespace llama4
