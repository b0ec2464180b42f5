// bf16 products in bf16 pairs: the AVX-512 BF16 instruction vdpbf16ps (chapter 12's speed work).
//
// linear and matmul (matmul.hpp) widen every bf16 weight to f32 and multiply it by an f32
// activation: per 16 weights a load, a widening, a shift and one multiply-add of 16 lanes. CPUs
// with AVX-512 BF16 (Intel Cooper Lake and Sapphire Rapids, AMD Zen 4 and 5) have an instruction
// that multiplies bf16 by bf16 directly, two products per f32 lane, and adds both into the lane:
//
//   vdpbf16ps  acc, a, b:   acc[j] += a[2j] · b[2j] + a[2j+1] · b[2j+1]      j = 0 .. 15
//
// 32 multiply-adds per instruction instead of 16, and no widening. The price: the activation x
// must be bf16 too, so it is rounded once per call (relative error at most 2^-9 per element, the
// error bf16 weights already carry). The product of two bf16 numbers is exact in f32, and the lane
// adds its two products in turn (the odd one, then the even one), so the rest is f32 arithmetic
// in an order of its own (and with subnormal inputs read as zero, which only values below about
// 1e-38 notice). llama.cpp rounds activations the same way for bf16 weights.
//
// Pairs run along the input dimension. For linear's [out, in] weights a pair is two neighbours in
// a row, as stored. For matmul's input-major [in, out] weights the two values of a pair sit in two
// consecutive rows, so the kernel interleaves two rows as it loads them (vpunpcklwd/hwd).
#pragma once

#include <cstdint>
#include <vector>

#include "common/tensors/bfloat16.hpp"

namespace llama4 {

// Which kernel bf16 weights use. widen_to_float (the default): the f32 kernels of matmul.cpp, x
// exact. automatic: bf16 pairs where the CPU has AVX-512 BF16, widening elsewhere; the inference
// programs choose it (their --exact-bf16 keeps widen_to_float). bf16_pairs: always bf16 pairs
// (an error on a CPU without AVX-512 BF16). The library's default stays exact so that every
// chapter before 12 computes what its text says, to f32 rounding.
enum class Bf16Kernel { widen_to_float, automatic, bf16_pairs };
void set_bf16_kernel(Bf16Kernel kernel);
// True when linear and matmul will use bf16 pairs for bf16 weights.
bool using_bf16_pairs();
// True where this CPU (and this build's compiler) can run the bf16-pair kernels.
bool cpu_has_bf16_pairs();

// x's `count` values rounded to bf16 (nearest, ties to even) and widened back to f32.
std::vector<float> round_to_bfloat16(const float* x, std::int64_t count);

// y: [rows, out] = x: [rows, in] · weightᵀ, weight: [out, in] bf16, x rounded to bf16.
void linear_bf16_pairs(const float* x, const bfloat16* weight, float* y, std::int64_t rows,
                       std::int64_t in, std::int64_t out);
// y: [rows, out] = x: [rows, in] · weight, weight: [in, out] bf16, x rounded to bf16. For
// prefill: at one row (decode) it loses to matmul.cpp's f32 kernel run on x rounded to bf16
// (round_to_bfloat16), which matmul uses there.
void matmul_bf16_pairs(const float* x, const bfloat16* weight, float* y, std::int64_t rows,
                       std::int64_t in, std::int64_t out);

}  // namespace llama4
