// Decode's quantized dot product in integers (chapter 12, kernel v2).
//
// Kernel v1 (quantized_matmul.cpp) turns every weight back into a float before multiplying: two or
// three vector instructions per 16 weights on top of the multiply-add, which made decode compute-
// bound at ~85 GFLOP/s on this CPU, well short of what memory could feed it. v2 does what llama.cpp
// does: it quantizes the ACTIVATION row x too, once per row (blocks of 32, an int8 each and a
// float scale), and multiplies int8 by int8, summing in int32. AVX-512 VNNI does 32 such products
// into 8 sums in ONE instruction (vpdpbusd), so a block costs a handful of instructions:
//
//   Σ_j w_j x_j ≈ d_w · d_x · Σ_j q_w[j] · q_x[j]            (Q8_0, Q4_0: q_w = nibble - 8)
//   Σ_j (d_w q_w[j] + m) x_j ≈ d_w d_x Σ_j q_w[j] q_x[j] + m · d_x · Σ_j q_x[j]      (Q4_1)
//
// vpdpbusd multiplies an UNSIGNED byte by a signed one. Q4_1's nibbles are unsigned already; for
// signed weights the sign is moved onto x first: q_w · q_x = |q_w| · (q_x · sign(q_w)).
//
// The price is x's own rounding (half a step of max|x_block| / 127), which the tests bound. It runs
// where the CPU has AVX-512 VNNI, or AVX2 (two instructions, vpmaddubsw and vpmaddwd, in place of
// vpdpbusd; checked at run time); elsewhere v1 runs.
#pragma once

#include <cstdint>
#include <vector>

#include "common/quantization/block_formats.hpp"

namespace llama4 {

// x quantized for the integer dot product: like a Q8_0 block, with an f32 scale and the sum of
// its values (for Q4_1's minimum).
struct ActivationBlock {
  float scale;
  std::int32_t sum;
  std::int8_t values[kQuantBlock];
};

// x: [n] (n a multiple of 32) -> n / 32 blocks, written to `blocks`.
void quantize_activations(const float* x, std::int64_t n, ActivationBlock* blocks);

// Which kernel quantized_linear uses for decode. automatic: v4 for Q4_0 matrices of whole groups of
// eight rows, v2 for the rest, where the CPU can; else v1. integer_dot: v2 for all. eight_rows: v3
// for Q4_0 (it loses to v2 in the model, see integer_dot.cpp, and runs only when chosen).
// interleaved: v4 for Q4_0, as automatic does.
enum class QuantizedKernel { automatic, dequantize_to_float, integer_dot, eight_rows, interleaved };
void set_quantized_kernel(QuantizedKernel kernel);  // for tests and benchmarks
// True when decode will use the integer dot product (chosen, and the CPU has AVX-512 VNNI or AVX2).
bool using_integer_dot();
// True when decode will use kernel v3 for Q4_0 (chosen with eight_rows; fails without VNNI).
bool using_eight_rows();
// True when decode will use kernel v4 for Q4_0 (automatic or interleaved, and the CPU has VNNI or
// AVX2).
bool using_interleaved();
// True where kernel v3 can run (AVX-512 VNNI; it has no AVX2 version, having lost to v2 anyway).
bool has_eight_row_kernel();

// Eight Q4_0 rows' blocks number b, interleaved: what kernel v4 reads (repacked_q4_0.hpp makes it).
// The same 18 bytes per row and block as BlockQ4_0, arranged so that one block of eight rows is
// 144 consecutive bytes: the eight scales, then each row's 16 nibble bytes.
struct BlockQ4_0x8 {
  float16 scales[8];
  std::uint8_t nibbles[8][kQuantBlock / 2];
};
static_assert(sizeof(BlockQ4_0x8) == 8 * sizeof(BlockQ4_0));

// Σ over `blocks` blocks of w · x (the integer kernels; call only when using_integer_dot()).
float integer_dot(const BlockQ8_0* w, const ActivationBlock* x, std::int64_t blocks);
float integer_dot(const BlockQ4_0* w, const ActivationBlock* x, std::int64_t blocks);
float integer_dot(const BlockQ4_1* w, const ActivationBlock* x, std::int64_t blocks);

// Kernel v3 (integer_dot.cpp says how): out[r] = Σ over `blocks` blocks of row r of w · x, for the
// eight rows w, w + row_blocks, ..., w + 7 · row_blocks (call only when using_integer_dot()).
void integer_dot_eight_rows(const BlockQ4_0* w, std::int64_t row_blocks, const ActivationBlock* x,
                            std::int64_t blocks, float* out);
// Kernel v4: the same for eight rows stored interleaved, `blocks` records from `group` on.
void integer_dot_interleaved(const BlockQ4_0x8* group, const ActivationBlock* x,
                             std::int64_t blocks, float* out);

// Kernel v2's prefill tile for Q8_0 on AVX2: two weight rows (w and w + blocks) times four rows of
// x (x, x + blocks, x + 2 · blocks, x + 3 · blocks): out[2 · r + k] = row k of w · row r of x.
// Each weight block is loaded, made unsigned and its scale converted once for four rows of x,
// not four times (call only when has_q8_0_tile()).
void integer_dot_q8_0_tile(const BlockQ8_0* w, const ActivationBlock* x, std::int64_t blocks,
                           float* out);
bool has_q8_0_tile();

}  // namespace llama4
