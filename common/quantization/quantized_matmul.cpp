#include "common/quantization/quantized_matmul.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__F16C__)
#include <immintrin.h>
#endif

#include "common/quantization/block_formats.hpp"
#include "common/quantization/integer_dot.hpp"
#include "common/quantization/repacked_q4_0.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/parallel_rows.hpp"

namespace llama4 {
namespace {

// 16 floats in one vector register (see matmul.cpp for why the vectors are spelled out).
using FloatVector = float __attribute__((vector_size(64)));
using Uint8Vector = std::uint8_t __attribute__((vector_size(16)));
using Int32Vector = std::int32_t __attribute__((vector_size(64)));
constexpr int kLanes = 16;

inline FloatVector load_floats(const float* source) {
  FloatVector v;
  std::memcpy(&v, source, sizeof v);
  return v;
}

inline float sum_lanes(FloatVector v) {
  float sum = 0.0f;
  for (int l = 0; l < kLanes; ++l) sum += v[l];
  return sum;
}

// A block's f16 scale as a float. float16_to_float (bfloat16.hpp) spells the conversion out bit by
// bit, with branches for zero, subnormals and infinities: fine for loading a tensor, too slow once
// per 32 weights in the inner loop. x86 has had an instruction for it since 2012 (F16C).
inline float scale_to_float(float16 scale) {
#if defined(__F16C__)
  return _cvtsh_ss(scale.bits);
#else
  return float16_to_float(scale);
#endif
}

// 16 bytes -> 16 floats. In two steps, widen to int32 then convert, because GCC turns a direct
// byte -> float conversion into 16 scalar conversions (7x slower decode, measured).
template <class ByteVector>
inline FloatVector to_floats(ByteVector bytes) {
  return __builtin_convertvector(__builtin_convertvector(bytes, Int32Vector), FloatVector);
}

// [excerpt dequantize_block]
// One block -> its 32 weights as two vectors: elements 0..15 (low) and 16..31 (high).
inline void dequantize(const BlockQ8_0& block, FloatVector& low, FloatVector& high) {
  // The int8 values are read as bytes and flipped to unsigned (q + 128, by toggling the top bit),
  // then 128 is taken off as floats: GCC widens unsigned bytes with one instruction, but signed
  // ones element by element (measured 4x slower).
  Uint8Vector q_low, q_high;
  std::memcpy(&q_low, block.values, sizeof q_low);
  std::memcpy(&q_high, block.values + kLanes, sizeof q_high);
  const float d = scale_to_float(block.scale);
  low = (to_floats(q_low ^ 0x80) - 128.0f) * d;
  high = (to_floats(q_high ^ 0x80) - 128.0f) * d;
}

inline void dequantize(const BlockQ4_0& block, FloatVector& low, FloatVector& high) {
  Uint8Vector nibbles;
  std::memcpy(&nibbles, block.nibbles, sizeof nibbles);
  const float d = scale_to_float(block.scale);
  // Byte j holds element j in its low four bits and element j + 16 in its high four bits.
  low = (to_floats(nibbles & 0x0F) - 8.0f) * d;
  high = (to_floats(nibbles >> 4) - 8.0f) * d;
}

inline void dequantize(const BlockQ4_1& block, FloatVector& low, FloatVector& high) {
  Uint8Vector nibbles;
  std::memcpy(&nibbles, block.nibbles, sizeof nibbles);
  const float d = scale_to_float(block.scale), m = scale_to_float(block.minimum);
  low = to_floats(nibbles & 0x0F) * d + m;
  high = to_floats(nibbles >> 4) * d + m;
}
// [end excerpt]

// Decode: one row of x against one row of W, block by block, two accumulators per block half.
template <class Block>
float dot(const float* x, const Block* w, std::int64_t blocks) {
  FloatVector sum_low = {}, sum_high = {};
  for (std::int64_t b = 0; b < blocks; ++b) {
    FloatVector low, high;
    dequantize(w[b], low, high);
    sum_low += load_floats(x + b * kQuantBlock) * low;
    sum_high += load_floats(x + b * kQuantBlock + kLanes) * high;
  }
  return sum_lanes(sum_low + sum_high);
}

// Prefill: y[r0..r0+3, o0..o0+3]. Each block of the four W rows is dequantized once and used for
// the four rows of x: the conversion cost is shared four ways.
template <class Block>
void tile_4x4(const float* x, const Block* weight, float* y, std::int64_t blocks, std::int64_t out,
              std::int64_t r0, std::int64_t o0) {
  const std::int64_t in = blocks * kQuantBlock;
  FloatVector accumulator[4][4] = {};
  for (std::int64_t b = 0; b < blocks; ++b) {
    FloatVector low[4], high[4];
    for (int o = 0; o < 4; ++o) dequantize(weight[(o0 + o) * blocks + b], low[o], high[o]);
    for (int r = 0; r < 4; ++r) {
      const float* xs = x + (r0 + r) * in + b * kQuantBlock;
      const FloatVector x_low = load_floats(xs), x_high = load_floats(xs + kLanes);
      for (int o = 0; o < 4; ++o) accumulator[r][o] += x_low * low[o] + x_high * high[o];
    }
  }
  for (int r = 0; r < 4; ++r) {
    for (int o = 0; o < 4; ++o) y[(r0 + r) * out + o0 + o] = sum_lanes(accumulator[r][o]);
  }
}

// One group of eight weight rows (kernels v3 and v4 for Q4_0, integer_dot.hpp) times every row
// of x: from the interleaved copy if there is one (v4), else from the rows in place (v3).
void eight_rows_times_x(const BlockQ4_0* weight, const BlockQ4_0x8* interleaved,
                        const ActivationBlock* x_blocks, float* y, std::int64_t rows,
                        std::int64_t blocks, std::int64_t out, std::int64_t group) {
  float eight[8];
  for (std::int64_t r = 0; r < rows; ++r) {
    if (interleaved != nullptr) {
      integer_dot_interleaved(interleaved + group * blocks, x_blocks + r * blocks, blocks, eight);
    } else {
      integer_dot_eight_rows(weight + group * 8 * blocks, blocks, x_blocks + r * blocks, blocks,
                             eight);
    }
    for (int k = 0; k < 8; ++k) y[r * out + group * 8 + k] = eight[k];
  }
}

// The output rows in whole groups of eight where v4 or v3 runs, the groups shared among the
// threads (parallel_rows.hpp). Returns how many rows it computed (the first ones); v2 does the
// rest.
std::int64_t eight_row_groups(const BlockQ4_0* weight, const BlockQ4_0x8* interleaved,
                              const ActivationBlock* x_blocks, float* y, std::int64_t rows,
                              std::int64_t blocks, std::int64_t out) {
  if (interleaved == nullptr && !using_eight_rows()) return 0;
  const std::int64_t groups = out / 8;
  const std::int64_t group_bytes = blocks * static_cast<std::int64_t>(sizeof(BlockQ4_0x8));
  parallel_rows(groups, rows_per_chunk(group_bytes), rows * blocks * out > (1 << 11),
                [&](std::int64_t first, std::int64_t last) {
                  for (std::int64_t group = first; group < last; ++group)
                    eight_rows_times_x(weight, interleaved, x_blocks, y, rows, blocks, out, group);
                });
  return groups * 8;
}
template <class Block>
std::int64_t eight_row_groups(const Block*, const BlockQ4_0x8*, const ActivationBlock*, float*,
                              std::int64_t, std::int64_t, std::int64_t) {
  return 0;  // v3 and v4 are for Q4_0 only
}

// Weight rows o and o + 1 (or o alone, the last) times every row of x, kernel v2: in tiles of
// 2 weight rows x 4 rows of x for the first `tiled_rows` rows (prefill of Q8_0 where the CPU has
// the tile), dot products for the others.
template <class Block>
void two_rows_times_x(const Block* weight, const ActivationBlock* x_blocks, float* y,
                      std::int64_t rows, std::int64_t tiled_rows, std::int64_t blocks,
                      std::int64_t out, std::int64_t o) {
  const std::int64_t o_end = std::min(o + 2, out);
  const std::int64_t first_untiled = o_end - o == 2 ? tiled_rows : 0;
  if constexpr (std::is_same_v<Block, BlockQ8_0>) {
    for (std::int64_t r = 0; r < first_untiled; r += 4) {
      float tile[8];  // [row of x][row of w]
      integer_dot_q8_0_tile(weight + o * blocks, x_blocks + r * blocks, blocks, tile);
      for (int i = 0; i < 4; ++i) {
        y[(r + i) * out + o] = tile[2 * i];
        y[(r + i) * out + o + 1] = tile[2 * i + 1];
      }
    }
  }
  for (std::int64_t oo = o; oo < o_end; ++oo) {
    for (std::int64_t r = first_untiled; r < rows; ++r)
      y[r * out + oo] = integer_dot(weight + oo * blocks, x_blocks + r * blocks, blocks);
  }
}

// Kernel v2 (integer_dot.hpp): x's rows quantized once, then integer dot products; the threads
// share the weight rows, two at a time (parallel_rows.hpp).
template <class Block>
void integer_linear_kernel(const float* x, const Block* weight, const BlockQ4_0x8* interleaved,
                           float* y, std::int64_t rows, std::int64_t in, std::int64_t out) {
  const std::int64_t blocks = in / kQuantBlock;
  std::vector<ActivationBlock> x_blocks(static_cast<std::size_t>(rows * blocks));
  for (std::int64_t r = 0; r < rows; ++r)
    quantize_activations(x + r * in, in, x_blocks.data() + r * blocks);
  const std::int64_t grouped =
      eight_row_groups(weight, interleaved, x_blocks.data(), y, rows, blocks, out);
  const bool tiles = std::is_same_v<Block, BlockQ8_0> && rows >= 4 && has_q8_0_tile();
  const std::int64_t tiled_rows = tiles ? rows / 4 * 4 : 0;
  const std::int64_t pairs = (out - grouped + 1) / 2;
  const std::int64_t pair_bytes = 2 * blocks * static_cast<std::int64_t>(sizeof(Block));
  parallel_rows(pairs, rows_per_chunk(pair_bytes), rows * in * (out - grouped) > (1 << 16),
                [&](std::int64_t first, std::int64_t last) {
                  for (std::int64_t pair = first; pair < last; ++pair) {
                    two_rows_times_x(weight, x_blocks.data(), y, rows, tiled_rows, blocks, out,
                                     grouped + 2 * pair);
                  }
                });
}

// Threads share the output features four rows at a time (parallel_rows.hpp), as in the bf16 kernel;
// whole 4 x 4 tiles where there are four rows of x, dot products for the rest. Decode (fewer than
// four rows) takes kernel v2 where the CPU has it, and so does every Q4_0 product with an
// interleaved copy (v4). With AVX-512, prefill of Q8_0 and Q4_1 stays on v1: v2 re-reads each
// weight row for every row of x and lost (0.56x v1 for Q8_0 at 64 rows).
//
// Without AVX-512, v1 is no good at all: its 16-float vectors are two AVX2 registers each, a 4 x 4
// tile of them does not fit in AVX2's sixteen, and GCC's code for the byte-to-float conversion at
// that width is slow: one matrix at 64 rows took 294 ms in Q8_0 against bf16's 39
// (bench/RESULTS.md, the AVX2 machine). There v2 serves prefill too: Q8_0 in tiles of 2 weight
// rows x 4 rows of x (integer_dot_q8_0_tile), Q4_1 one row of x after another while each weight
// row sits in L1.
#if defined(__AVX512F__)
constexpr bool kDequantizingPrefill = true;
#else
constexpr bool kDequantizingPrefill = false;
#endif

// Weight rows o .. o + 3 (fewer at the end) times every row of x, kernel v1: whole 4 x 4 tiles
// where there are four rows of x, dot products for the rest.
template <class Block>
void four_rows_times_x(const float* x, const Block* weight, float* y, std::int64_t rows,
                       std::int64_t blocks, std::int64_t out, std::int64_t o) {
  const std::int64_t in = blocks * kQuantBlock;
  const std::int64_t tiled_rows = rows / 4 * 4;
  const std::int64_t o_end = std::min(o + 4, out);
  const bool full_tile = o_end - o == 4;
  if (full_tile) {
    for (std::int64_t r = 0; r < tiled_rows; r += 4) tile_4x4(x, weight, y, blocks, out, r, o);
  }
  for (std::int64_t oo = o; oo < o_end; ++oo) {
    for (std::int64_t r = full_tile ? tiled_rows : 0; r < rows; ++r)
      y[r * out + oo] = dot(x + r * in, weight + oo * blocks, blocks);
  }
}

template <class Block>
void linear_kernel(const float* x, const Block* weight, float* y, std::int64_t rows,
                   std::int64_t in, std::int64_t out, const BlockQ4_0x8* interleaved = nullptr) {
  if ((rows < 4 || interleaved != nullptr || !kDequantizingPrefill) && using_integer_dot())
    return integer_linear_kernel(x, weight, interleaved, y, rows, in, out);
  const std::int64_t blocks = in / kQuantBlock;
  const std::int64_t quads = (out + 3) / 4;  // groups of four weight rows
  const std::int64_t quad_bytes = 4 * blocks * static_cast<std::int64_t>(sizeof(Block));
  parallel_rows(quads, rows_per_chunk(quad_bytes), rows * in * out > (1 << 16),
                [&](std::int64_t first, std::int64_t last) {
                  for (std::int64_t quad = first; quad < last; ++quad)
                    four_rows_times_x(x, weight, y, rows, blocks, out, 4 * quad);
                });
}

}  // namespace

bool quantized_prefill_dequantizes() {
  return kDequantizingPrefill;
}

void quantized_linear(const Tensor& x, const Tensor& weight, Tensor& y) {
  if (weight.rank() != 2 || !is_block_quantized(weight.dtype())) {
    fail("quantized_linear: weight ", dtype_name(weight.dtype()), " ", shape_string(weight.shape()),
         " is not a block-quantized matrix");
  }
  const std::int64_t out = weight.dim(0), in = weight.dim(1);
  if (x.rank() != 2 || x.dim(1) != in || x.dtype() != DType::F32 || !x.is_contiguous()) {
    fail("quantized_linear: x ", dtype_name(x.dtype()), " ", shape_string(x.shape()),
         " does not fit weight ", shape_string(weight.shape()), " (contiguous F32 [rows, ", in,
         "] needed)");
  }
  if (!weight.is_contiguous()) fail("quantized_linear: the weight must be contiguous");
  expect_shape(y, {x.dim(0), out}, "quantized_linear output");
  const float* x_data = x.data<float>();
  float* y_data = y.mutable_data<float>();
  const std::byte* w = weight.raw_data();
  switch (weight.dtype()) {
    case DType::Q8_0:
      return linear_kernel(x_data, reinterpret_cast<const BlockQ8_0*>(w), y_data, x.dim(0), in,
                           out);
    case DType::Q4_0: {
      // Whole groups of eight rows read the interleaved copy (kernel v4), in decode and in
      // prefill: a group's weights (144 bytes a block) stay in cache while every row of x passes,
      // and the integer arithmetic is cheaper than v1's dequantizing (1.9x v1 at 64 rows,
      // bench_quantization).
      const bool interleave = out % 8 == 0 && using_interleaved();
      return linear_kernel(x_data, reinterpret_cast<const BlockQ4_0*>(w), y_data, x.dim(0), in, out,
                           interleave ? repacked_q4_0(weight) : nullptr);
    }
    default:
      return linear_kernel(x_data, reinterpret_cast<const BlockQ4_1*>(w), y_data, x.dim(0), in,
                           out);
  }
}

}  // namespace llama4
