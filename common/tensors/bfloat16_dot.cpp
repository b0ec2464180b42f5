#include "common/tensors/bfloat16_dot.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "common/tensors/error.hpp"
#include "common/tensors/matmul.hpp"
#include "common/tensors/parallel_rows.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define LLAMA4_BF16_PAIRS 1
// Compiled for AVX-512 BF16 whatever the build's -march, and run only where the CPU has it.
#define BF16_PAIRS __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))
#endif

namespace llama4 {
namespace {

std::atomic<Bf16Kernel> chosen_kernel{Bf16Kernel::widen_to_float};

#if defined(LLAMA4_BF16_PAIRS)

// Below this many multiply-adds a product runs on one thread (as in matmul.cpp).
constexpr std::int64_t kParallelWork = 1 << 16;
constexpr std::int64_t kPairLanes = 32;  // bf16 values in one 512-bit register

// x: [rows, in] f32 -> [rows, stride] bf16, rounded to nearest even, each row padded with zeros
// to a whole register (stride = in rounded up to 32), so the kernels never read past a row.
std::vector<bfloat16> round_rows_to_bfloat16(const float* x, std::int64_t rows, std::int64_t in,
                                             std::int64_t stride) {
  std::vector<bfloat16> rounded(static_cast<std::size_t>(rows * stride));  // zeros
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t i = 0; i < in; ++i)
      rounded[r * stride + i] = float_to_bfloat16(x[r * in + i]);
  }
  return rounded;
}

std::int64_t padded(std::int64_t n) {
  return (n + kPairLanes - 1) / kPairLanes * kPairLanes;
}

// AVX-512 BF16 is CPUID leaf 7, sub-leaf 1, EAX bit 5 (clang 14 has no name for it in
// __builtin_cpu_supports). The AVX-512 foundation checks also confirm the OS saves the registers.
bool cpu_reports_avx512_bf16() {
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (eax & (1u << 5)) != 0 && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
}

// The first `count` (1 .. 32) lanes of a 32-lane register.
inline __mmask32 first_lanes(std::int64_t count) {
  return count >= kPairLanes ? ~__mmask32{0} : (__mmask32{1} << count) - 1;
}

// Sixteen f32 sums. Not __m512: GCC declares that type may_alias, so it assumed any load in the
// loop might change a tile of them and stored the whole tile to memory at every step (at half
// the speed). Converting between the two is free.
using Sums = float __attribute__((vector_size(64)));

// The sum of the 16 lanes, halving twice. (Not _mm512_reduce_add_ps: GCC 12 warns inside it,
// about the undefined register its helpers start from.)
BF16_PAIRS inline float sum_lanes(Sums all) {
  using Lanes8 = float __attribute__((vector_size(32)));
  using Lanes4 = float __attribute__((vector_size(16)));
  const Lanes8 eight = __builtin_shufflevector(all, all, 0, 1, 2, 3, 4, 5, 6, 7) +
                       __builtin_shufflevector(all, all, 8, 9, 10, 11, 12, 13, 14, 15);
  const Lanes4 four = __builtin_shufflevector(eight, eight, 0, 1, 2, 3) +
                      __builtin_shufflevector(eight, eight, 4, 5, 6, 7);
  return (four[0] + four[2]) + (four[1] + four[3]);
}

BF16_PAIRS inline Sums load_sums(const float* source) {
  Sums v;
  std::memcpy(&v, source, sizeof v);
  return v;
}
BF16_PAIRS inline void store_sums(float* target, Sums v) {
  std::memcpy(target, &v, sizeof v);
}

// sums[j] += a[2j] · b[2j] + a[2j+1] · b[2j+1]: vdpbf16ps.
BF16_PAIRS inline Sums add_pairs(Sums sums, __m512i a, __m512i b) {
  return reinterpret_cast<Sums>(_mm512_dpbf16_ps(reinterpret_cast<__m512>(sums),
                                                 reinterpret_cast<__m512bh>(a),
                                                 reinterpret_cast<__m512bh>(b)));
}

// ---- linear: W [out, in], pairs are neighbours in a row ----------------------------------------

// y[r0..r0+R-1, o0..o0+W-1] = x[r0.., :] · W[o0.., :]ᵀ. Each step takes 32 values of the input
// dimension: W loads of weights and R of x, R x W instructions of 32 multiply-adds. x rows are
// padded to whole registers; the weights' last, partial register is loaded with a mask.
template <int R, int W>
BF16_PAIRS void linear_tile(const bfloat16* x, std::int64_t x_stride, const bfloat16* weight,
                            float* y, std::int64_t in, std::int64_t out, std::int64_t r0,
                            std::int64_t o0) {
  Sums sums[R][W] = {};
  for (std::int64_t i = 0; i < in; i += kPairLanes) {
    const __mmask32 mask = first_lanes(in - i);
    __m512i w[W];
    for (int b = 0; b < W; ++b) w[b] = _mm512_maskz_loadu_epi16(mask, weight + (o0 + b) * in + i);
    for (int a = 0; a < R; ++a) {
      const __m512i x_pairs = _mm512_loadu_si512(x + (r0 + a) * x_stride + i);
      for (int b = 0; b < W; ++b) sums[a][b] = add_pairs(sums[a][b], x_pairs, w[b]);
    }
  }
#pragma GCC unroll 4
  for (int a = 0; a < R; ++a)
#pragma GCC unroll 4
    for (int b = 0; b < W; ++b) y[(r0 + a) * out + o0 + b] = sum_lanes(sums[a][b]);
}

// A tile of `rows` x `width` (1..4 each), for the edges of the output.
template <int R>
BF16_PAIRS void linear_edge(const bfloat16* x, std::int64_t x_stride, const bfloat16* weight,
                            float* y, std::int64_t in, std::int64_t out, std::int64_t r0,
                            std::int64_t o0, std::int64_t width) {
  switch (width) {
    case 1:
      return linear_tile<R, 1>(x, x_stride, weight, y, in, out, r0, o0);
    case 2:
      return linear_tile<R, 2>(x, x_stride, weight, y, in, out, r0, o0);
    case 3:
      return linear_tile<R, 3>(x, x_stride, weight, y, in, out, r0, o0);
    default:
      return linear_tile<R, 4>(x, x_stride, weight, y, in, out, r0, o0);
  }
}

BF16_PAIRS void linear_block(const bfloat16* x, std::int64_t x_stride, const bfloat16* weight,
                             float* y, std::int64_t in, std::int64_t out, std::int64_t r0,
                             std::int64_t rows, std::int64_t o0, std::int64_t width) {
  switch (rows) {
    case 1:
      return linear_edge<1>(x, x_stride, weight, y, in, out, r0, o0, width);
    case 2:
      return linear_edge<2>(x, x_stride, weight, y, in, out, r0, o0, width);
    case 3:
      return linear_edge<3>(x, x_stride, weight, y, in, out, r0, o0, width);
    default:
      return linear_edge<4>(x, x_stride, weight, y, in, out, r0, o0, width);
  }
}

// Decode's dot product: one row of W against one row of x, streaming the weight row alone (four
// rows at a time, as the prefill tile reads them, ran a third slower on a matrix larger than
// the caches), with four sums in flight and 128 values a step.
BF16_PAIRS float dot_pairs(const bfloat16* x, const bfloat16* w, std::int64_t in) {
  Sums sums[4] = {};
  std::int64_t i = 0;
  for (; i + 4 * kPairLanes <= in; i += 4 * kPairLanes) {
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      sums[k] = add_pairs(sums[k], _mm512_loadu_si512(x + i + k * kPairLanes),
                          _mm512_loadu_si512(w + i + k * kPairLanes));
    }
  }
  for (; i < in; i += kPairLanes) {  // x is padded; the weights' last register is masked
    sums[0] = add_pairs(sums[0], _mm512_loadu_si512(x + i),
                        _mm512_maskz_loadu_epi16(first_lanes(in - i), w + i));
  }
  return sum_lanes((sums[0] + sums[1]) + (sums[2] + sums[3]));
}

// Threads share the output features in groups of 4 weight rows (parallel_rows.hpp; a weight row
// is read from memory once, then from L1 for every tile of x); each group runs through all rows of
// x, 4 at a time. Decode (1 to 3 rows) takes one weight row at a time instead.
void linear_pairs(const bfloat16* x, std::int64_t x_stride, const bfloat16* weight, float* y,
                  std::int64_t rows, std::int64_t in, std::int64_t out) {
  const bool parallel = rows * in * out > kParallelWork;
  const std::int64_t row_bytes = in * static_cast<std::int64_t>(sizeof(bfloat16));
  if (rows < 4) {
    parallel_rows(out, rows_per_chunk(row_bytes), parallel,
                  [&](std::int64_t first, std::int64_t last) {
                    for (std::int64_t o = first; o < last; ++o) {
                      for (std::int64_t r = 0; r < rows; ++r)
                        y[r * out + o] = dot_pairs(x + r * x_stride, weight + o * in, in);
                    }
                  });
    return;
  }
  const std::int64_t groups = (out + 3) / 4;
  parallel_rows(groups, rows_per_chunk(4 * row_bytes), parallel,
                [&](std::int64_t first, std::int64_t last) {
                  for (std::int64_t group = first; group < last; ++group) {
                    const std::int64_t o0 = group * 4;
                    const std::int64_t width = std::min<std::int64_t>(4, out - o0);
                    for (std::int64_t r = 0; r < rows; r += 4) {
                      linear_block(x, x_stride, weight, y, in, out, r,
                                   std::min<std::int64_t>(4, rows - r), o0, width);
                    }
                  }
                });
}

// ---- matmul: W [in, out], pairs are two consecutive rows ---------------------------------------
//
// vpunpcklwd interleaves the 16-bit values of two rows within each 128-bit lane: lane k of
// "low" holds the pairs (W[i, c], W[i+1, c]) for columns c = 8k .. 8k+3 of the 32 loaded, "high"
// those for 8k+4 .. 8k+7. The sums keep that order; store_columns puts it back at the end.

// 32 weights of rows i and i+1 as two registers of pairs. Each row is loaded under its own mask:
// lanes past the matrix's last column, or a whole second row that does not exist, read as zeros.
BF16_PAIRS inline void load_row_pairs(const bfloat16* row, const bfloat16* next_row, __mmask32 mask,
                                      __mmask32 next_mask, __m512i& low, __m512i& high) {
  const __m512i first = _mm512_maskz_loadu_epi16(mask, row);
  const __m512i second = _mm512_maskz_loadu_epi16(next_mask, next_row);
  low = _mm512_unpacklo_epi16(first, second);
  high = _mm512_unpackhi_epi16(first, second);
}

// Where column p of a 32-column block sits in (low, high): p = 8k + j is lane 4k + j of low for
// j < 4, and lane 4k + j - 4 of high (index 16 + ...) for j >= 4.
BF16_PAIRS inline void store_columns(Sums low_sums, Sums high_sums, float* y,
                                     std::int64_t columns) {
  const __m512 low = reinterpret_cast<__m512>(low_sums), high = reinterpret_cast<__m512>(high_sums);
  const __m512i first = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i second =
      _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  const __mmask16 first_mask =
      static_cast<__mmask16>(first_lanes(std::min<std::int64_t>(16, columns)));
  _mm512_mask_storeu_ps(y, first_mask, _mm512_permutex2var_ps(low, first, high));
  if (columns > 16) {
    const __mmask16 second_mask = static_cast<__mmask16>(first_lanes(columns - 16));
    _mm512_mask_storeu_ps(y + 16, second_mask, _mm512_permutex2var_ps(low, second, high));
  }
}

// The broadcast pair (x[r, i], x[r, i+1]): one 32-bit load.
BF16_PAIRS inline __m512i broadcast_pair(const bfloat16* x) {
  std::uint32_t pair;
  std::memcpy(&pair, x, sizeof pair);
  return _mm512_set1_epi32(static_cast<int>(pair));
}

// W is taken kMatmulChunkRows rows at a time (matmul.hpp says why): 128 rows of a 64-column
// block are 16 KiB over 128 pages, which the L1 cache and the TLB both hold (19 -> 10 ms here).

// sums[R][V][32] (pair order) += x[r0.., i0:i1] · W[i0:i1, c0..]: R rows of x times V blocks of
// 32 columns, two rows of W per step. masks[v] cuts block v short at the matrix's last column.
template <int R, int V>
BF16_PAIRS void matmul_tile(const bfloat16* x, std::int64_t x_stride, const bfloat16* weight,
                            std::int64_t in, std::int64_t out, std::int64_t r0, std::int64_t c0,
                            std::int64_t i0, std::int64_t i1, const __mmask32* masks, float* sums) {
  Sums low_sums[R][V], high_sums[R][V];
#pragma GCC unroll 4
  for (int a = 0; a < R; ++a) {
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      low_sums[a][v] = load_sums(sums + (a * V + v) * 32);
      high_sums[a][v] = load_sums(sums + (a * V + v) * 32 + 16);
    }
  }
  for (std::int64_t i = i0; i < i1; i += 2) {
    // Rows i and i+1 of W. Past the last row (odd `in`) the second load is masked off entirely,
    // reads nothing and gives zeros; x's padding pairs x[i] with 0 too.
    const bfloat16* row = weight + i * out + c0;
    const bool has_next = i + 1 < in;
    __m512i low[V], high[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      load_row_pairs(row + 32 * v, has_next ? row + out + 32 * v : row + 32 * v, masks[v],
                     has_next ? masks[v] : 0, low[v], high[v]);
    }
#pragma GCC unroll 4
    for (int a = 0; a < R; ++a) {
      const __m512i x_pair = broadcast_pair(x + (r0 + a) * x_stride + i);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) {
        low_sums[a][v] = add_pairs(low_sums[a][v], x_pair, low[v]);
        high_sums[a][v] = add_pairs(high_sums[a][v], x_pair, high[v]);
      }
    }
  }
  // (Loops with constant bounds, unrolled, so the sums can stay in registers: see Sums.)
#pragma GCC unroll 4
  for (int a = 0; a < R; ++a) {
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      store_sums(sums + (a * V + v) * 32, low_sums[a][v]);
      store_sums(sums + (a * V + v) * 32 + 16, high_sums[a][v]);
    }
  }
}

constexpr int kBlockRegisters = 2;                     // V: 32-column blocks in a tile
constexpr std::int64_t kBlock = 32 * kBlockRegisters;  // columns a thread takes at a time

// y[:, c0 .. c0+columns-1] for all rows: the rows of W in chunks of kMatmulChunkRows, and within a
// chunk every tile of x (4 rows at a time, then the last 1 to 3), their sums kept in `sums`
// ([rows][kBlock], pair order) from chunk to chunk.
BF16_PAIRS void matmul_pairs_block(const bfloat16* x, std::int64_t x_stride, const bfloat16* weight,
                                   float* y, std::int64_t rows, std::int64_t in, std::int64_t out,
                                   std::int64_t c0, float* sums) {
  const std::int64_t columns = std::min(kBlock, out - c0);
  __mmask32 masks[kBlockRegisters];
  for (int v = 0; v < kBlockRegisters; ++v)
    masks[v] = first_lanes(std::max<std::int64_t>(0, columns - 32 * v));
  std::fill(sums, sums + rows * kBlock, 0.0f);
  const std::int64_t tiled_rows = rows / 4 * 4;
  for (std::int64_t i0 = 0; i0 < in; i0 += kMatmulChunkRows) {
    const std::int64_t i1 = std::min(in, i0 + kMatmulChunkRows);
    for (std::int64_t r = 0; r < tiled_rows; r += 4) {
      matmul_tile<4, kBlockRegisters>(x, x_stride, weight, in, out, r, c0, i0, i1, masks,
                                      sums + r * kBlock);
    }
    for (std::int64_t r = tiled_rows; r < rows; ++r) {
      matmul_tile<1, kBlockRegisters>(x, x_stride, weight, in, out, r, c0, i0, i1, masks,
                                      sums + r * kBlock);
    }
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    for (int v = 0; v < kBlockRegisters && 32 * v < columns; ++v) {
      const float* block_sums = sums + r * kBlock + 32 * v;
      store_columns(load_sums(block_sums), load_sums(block_sums + 16), y + r * out + c0 + 32 * v,
                    std::min<std::int64_t>(32, columns - 32 * v));
    }
  }
}

// Prefill: threads split the columns into blocks of kBlock, each with its own sums.
void matmul_pairs_prefill(const bfloat16* x, std::int64_t x_stride, const bfloat16* weight,
                          float* y, std::int64_t rows, std::int64_t in, std::int64_t out) {
  const std::int64_t blocks = (out + kBlock - 1) / kBlock;
#pragma omp parallel if (rows * in * out > kParallelWork)
  {
    std::vector<float> sums(static_cast<std::size_t>(rows * kBlock));
#pragma omp for schedule(static)
    for (std::int64_t block = 0; block < blocks; ++block)
      matmul_pairs_block(x, x_stride, weight, y, rows, in, out, block * kBlock, sums.data());
  }
}

#endif  // LLAMA4_BF16_PAIRS

}  // namespace

bool cpu_has_bf16_pairs() {
#if defined(LLAMA4_BF16_PAIRS)
  static const bool has = cpu_reports_avx512_bf16();
  return has;
#else
  return false;
#endif
}

std::vector<float> round_to_bfloat16(const float* x, std::int64_t count) {
  std::vector<float> rounded(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) rounded[i] = bfloat16_to_float(float_to_bfloat16(x[i]));
  return rounded;
}

void set_bf16_kernel(Bf16Kernel kernel) {
  chosen_kernel = kernel;
}

bool using_bf16_pairs() {
  switch (chosen_kernel.load()) {
    case Bf16Kernel::widen_to_float:
      return false;
    case Bf16Kernel::bf16_pairs:
      if (!cpu_has_bf16_pairs())
        fail("the bf16-pair kernel needs AVX-512 BF16 (vdpbf16ps), which this CPU does not have");
      return true;
    default:
      return cpu_has_bf16_pairs();
  }
}

namespace {
// x rounded to bf16 rows, then `kernel`; or a clear error where the CPU cannot run it.
using PairKernel = void (*)(const bfloat16* x, std::int64_t x_stride, const bfloat16* weight,
                            float* y, std::int64_t rows, std::int64_t in, std::int64_t out);
void run_on_rounded_x([[maybe_unused]] PairKernel kernel, const char* name, const float* x,
                      const bfloat16* weight, float* y, std::int64_t rows, std::int64_t in,
                      std::int64_t out) {
  if (!cpu_has_bf16_pairs()) fail(name, ": this CPU has no AVX-512 BF16 (vdpbf16ps)");
#if defined(LLAMA4_BF16_PAIRS)
  const std::int64_t stride = padded(in);
  const std::vector<bfloat16> x_rounded = round_rows_to_bfloat16(x, rows, in, stride);
  kernel(x_rounded.data(), stride, weight, y, rows, in, out);
#else
  (void)x, (void)weight, (void)y, (void)rows, (void)in, (void)out;
#endif
}
}  // namespace

#if defined(LLAMA4_BF16_PAIRS)
constexpr PairKernel kLinearPairs = linear_pairs, kMatmulPairs = matmul_pairs_prefill;
#else
constexpr PairKernel kLinearPairs = nullptr, kMatmulPairs = nullptr;
#endif

void linear_bf16_pairs(const float* x, const bfloat16* weight, float* y, std::int64_t rows,
                       std::int64_t in, std::int64_t out) {
  run_on_rounded_x(kLinearPairs, "linear_bf16_pairs", x, weight, y, rows, in, out);
}

void matmul_bf16_pairs(const float* x, const bfloat16* weight, float* y, std::int64_t rows,
                       std::int64_t in, std::int64_t out) {
  run_on_rounded_x(kMatmulPairs, "matmul_bf16_pairs", x, weight, y, rows, in, out);
}

}  // namespace llama4
