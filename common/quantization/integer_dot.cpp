#include "common/quantization/integer_dot.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "common/tensors/error.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define LLAMA4_INTEGER_DOT 1
// Compiled for AVX-512 VNNI, or for AVX2, whatever the build's -march; each runs only where the
// CPU has it. A VNNI function may inline an AVX2 one (its instructions are a subset), not the
// other way round: the helpers both use are AVX2.
#define VNNI __attribute__((target("avx2,f16c,fma,avx512f,avx512vl,avx512bw,avx512vnni")))
#define AVX2 __attribute__((target("avx2,f16c,fma")))
#endif

namespace llama4 {
namespace {

std::atomic<QuantizedKernel> chosen_kernel{QuantizedKernel::automatic};

bool cpu_has_vnni() {
#if defined(LLAMA4_INTEGER_DOT)
  static const bool has =
      __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl");
  return has;
#else
  return false;
#endif
}

// F16C (half-precision conversions) is asked of the CPU directly: clang 14's
// __builtin_cpu_supports does not know the name. CPUID leaf 1 reports it in ECX bit 29.
#if defined(LLAMA4_INTEGER_DOT)
bool cpu_has_f16c() {
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & bit_F16C) != 0;
}
#endif

bool cpu_has_avx2() {
#if defined(LLAMA4_INTEGER_DOT)
  static const bool has =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
  return has;
#else
  return false;
#endif
}

#if defined(LLAMA4_INTEGER_DOT)
AVX2 inline float sum_lanes(__m256 v) {
  const __m128 half = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
  return _mm_cvtss_f32(_mm_add_ss(quarter, _mm_movehdup_ps(quarter)));
}

// Σ_j a_j · b_j of 32 signed bytes each, as 8 int32 partial sums: |a| · (b with a's sign).
VNNI inline __m256i signed_dot(__m256i a, __m256i b) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(a, a),
                             _mm256_sign_epi8(b, a));
}

// A Q4 block's 32 nibbles as bytes 0..15, in element order: the low nibbles are elements 0..15,
// the high ones 16..31.
AVX2 inline __m256i unpack_nibbles(const std::uint8_t* nibbles) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(nibbles));
  const __m128i mask = _mm_set1_epi8(0x0F);
  const __m128i low = _mm_and_si128(packed, mask);
  const __m128i high = _mm_and_si128(_mm_srli_epi16(packed, 4), mask);
  return _mm256_set_m128i(high, low);
}

AVX2 inline __m256i load_values(const std::int8_t* values) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(values));
}

// Q8_0, one block at a time in a 256-bit register: the first version of v2, now only the tail of
// the one below (the last blocks when their count is not a multiple of four).
VNNI float dot_q8_0_one_block_at_a_time(const BlockQ8_0* w, const ActivationBlock* x,
                                        std::int64_t blocks) {
  __m256 sum = _mm256_setzero_ps();
  for (std::int64_t b = 0; b < blocks; ++b) {
    const __m256i products = signed_dot(load_values(w[b].values), load_values(x[b].values));
    const __m256 scale = _mm256_set1_ps(_cvtsh_ss(w[b].scale.bits) * x[b].scale);
    sum = _mm256_fmadd_ps(_mm256_cvtepi32_ps(products), scale, sum);
  }
  return sum_lanes(sum);
}

// Q8_0 two blocks at a time, one in each half of a 512-bit register. A block costs about eleven
// instructions one at a time (two loads, two sign moves, vpdpbusd, the scale's conversion, its
// multiply and broadcast, the int-to-float conversion and the multiply-add); here most of them
// serve two blocks. The one at a time loop ran at 55 GB/s on a matrix that stays in the cache,
// barely faster than memory delivers, leaving nothing for the costs around each product; this one
// runs at 70 GB/s, and the 1b model's decode took 15.8 ms a token against 17.6 (bench/RESULTS.md,
// chapter 12).
//
// GCC 12's own AVX-512 intrinsics (the conversion, the insert, the final sum) start from undefined
// registers, which it then reports as "(may be) used uninitialized" (GCC bug 105593); they are
// overwritten.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
// Blocks b and b + 1's 32 bytes: the first in the low half, the second in the high half.
VNNI inline __m512i two_blocks(const std::int8_t* first, const std::int8_t* second) {
  return _mm512_inserti64x4(_mm512_zextsi256_si512(load_values(first)), load_values(second), 1);
}

// Σ a·b per 4 bytes, signed by signed, as 16 int32 sums. AVX-512 has no vpsignb: |a| is
// vpabsb, and b takes a's sign by being subtracted from zero where a's top bit is set.
VNNI inline __m512i signed_dot_512(__m512i a, __m512i b) {
  const __mmask64 negative = _mm512_movepi8_mask(a);
  const __m512i b_signed = _mm512_mask_sub_epi8(b, negative, _mm512_setzero_si512(), b);
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(a), b_signed);
}

// `first` in the eight low lanes, `second` in the eight high ones.
VNNI inline __m512 two_scales(float first, float second) {
  return _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(first), _mm512_set1_ps(second));
}

VNNI float dot_q8_0(const BlockQ8_0* w, const ActivationBlock* x, std::int64_t blocks) {
  // Four blocks an iteration into two sums, so one multiply-add need not wait for the other.
  __m512 sums[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
  std::int64_t b = 0;
  for (; b + 4 <= blocks; b += 4) {
    for (int k = 0; k < 2; ++k) {
      const std::int64_t c = b + 2 * k;
      const __m512i products = signed_dot_512(two_blocks(w[c].values, w[c + 1].values),
                                              two_blocks(x[c].values, x[c + 1].values));
      const __m512 scales = two_scales(_cvtsh_ss(w[c].scale.bits) * x[c].scale,
                                       _cvtsh_ss(w[c + 1].scale.bits) * x[c + 1].scale);
      sums[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(products), scales, sums[k]);
    }
  }
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(sums[0], sums[1]));
  if (b < blocks) sum += dot_q8_0_one_block_at_a_time(w + b, x + b, blocks - b);
  return sum;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

VNNI float dot_q4_0(const BlockQ4_0* w, const ActivationBlock* x, std::int64_t blocks) {
  __m256 sum = _mm256_setzero_ps();
  const __m256i eight = _mm256_set1_epi8(8);
  for (std::int64_t b = 0; b < blocks; ++b) {
    const __m256i q = _mm256_sub_epi8(unpack_nibbles(w[b].nibbles), eight);  // -8..7
    const __m256i products = signed_dot(q, load_values(x[b].values));
    const __m256 scale = _mm256_set1_ps(_cvtsh_ss(w[b].scale.bits) * x[b].scale);
    sum = _mm256_fmadd_ps(_mm256_cvtepi32_ps(products), scale, sum);
  }
  return sum_lanes(sum);
}

// Kernel v3: eight rows of Q4_0 at once. One row at a time (dot_q4_0), each block costs about
// fifteen instructions for 32 multiply-adds; most of them (unpacking, the scale, the conversion)
// work on 256-bit vectors a quarter full of useful data, or on one scale. Here four rows share one
// 512-bit register, each row's 16 nibble bytes in its own 128-bit lane, the activation block is
// broadcast to the four lanes once, and the eight rows' scales are converted together:
//
//   zmm a = [row 0 | row 1 | row 2 | row 3]   16 bytes each: elements j (low nibble), j+16 (high)
//   vpdpbusd(low nibbles, x[0..15]) then vpdpbusd(high nibbles, x[16..31]): 4 int32 sums per row
//   × (d_w · d_x of that row, spread over its lane), into a float accumulator per lane
//
// The nibbles go in unsigned (0..15), so no sign is moved: Σ (q - 8) x = Σ q x - 8 Σ x, and the
// second term, d_w d_x 8 Σx, is one multiply-add for all eight rows (Σx is kept in each activation
// block). About 35 instructions per block for eight rows: 4 or 5 per row instead of 15.
//
// Why it is not the default: on one 4096 x 5120 matrix that stays in the cache it is 2.2 times
// faster than v2, but in the whole model, whose weights stream from memory, it is SLOWER than v2
// (bench/RESULTS.md, chapter 12). It reads eight rows that lie 18 · in / 32 bytes apart, eight
// streams per thread; the hardware prefetcher follows one stream well and eight badly, and the
// prefetch instruction below wins back only part of it. llama.cpp gets the same arithmetic with
// ONE stream by storing the eight rows' blocks interleaved (repacked once at load time): that is
// kernel v4 below (repacked_q4_0.hpp), 1.7 times v2 in the model, and the default.
//
// GCC 12 reports the undefined upper lanes these AVX-512 intrinsics start from as "may be used
// uninitialized" (GCC bug 105593); they are overwritten or never read.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// The running sums of eight rows: four rows per 512-bit register, four float lanes per row.
// (Set to zero by start_sums: only a function compiled for AVX-512 may make the registers.)
struct EightRowSums {
  __m512 rows_0_to_3;
  __m512 rows_4_to_7;
  __m256 offsets;  // per row: Σ_b d_w d_x · 8 Σx
};

VNNI inline EightRowSums start_sums() {
  return {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm256_setzero_ps()};
}

// Σ q·x of four rows' blocks (one row per 128-bit lane, nibbles unsigned) with the activation
// block, broadcast to the four lanes in two halves: four int32 partial sums per row. (A function of
// its own rather than a lambda: a lambda is not compiled for the enclosing function's target.)
VNNI inline __m512i four_row_products(__m512i four_rows, __m512i x_low, __m512i x_high) {
  const __m512i low_bits = _mm512_set1_epi8(0x0F);
  const __m512i low = _mm512_and_si512(four_rows, low_bits);
  const __m512i high = _mm512_and_si512(_mm512_srli_epi16(four_rows, 4), low_bits);
  return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), low, x_low), high, x_high);
}

// One block of eight rows: `first` holds rows 0..3's 16 nibble bytes, one row per 128-bit lane,
// `second` rows 4..7; `scale_bits` the eight rows' f16 scales.
VNNI inline void add_block(EightRowSums& sums, __m512i first, __m512i second, __m128i scale_bits,
                           const ActivationBlock& x) {
  // Lane i of the spread scales is the scale of row i / 4 (rows 0..3), or 4 + i / 4 (rows 4..7).
  const __m512i rows_0_to_3 = _mm512_set_epi32(3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
  const __m512i rows_4_to_7 = _mm512_add_epi32(rows_0_to_3, _mm512_set1_epi32(4));
  const __m512i x_low =
      _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.values)));
  const __m512i x_high =
      _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x.values + 16)));
  const __m256 scales = _mm256_mul_ps(_mm256_cvtph_ps(scale_bits), _mm256_set1_ps(x.scale));
  sums.offsets =
      _mm256_fmadd_ps(scales, _mm256_set1_ps(8.0f * static_cast<float>(x.sum)), sums.offsets);
  const __m512 wide = _mm512_castps256_ps512(scales);
  sums.rows_0_to_3 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(four_row_products(first, x_low, x_high)),
                                     _mm512_permutexvar_ps(rows_0_to_3, wide), sums.rows_0_to_3);
  sums.rows_4_to_7 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(four_row_products(second, x_low, x_high)),
                                     _mm512_permutexvar_ps(rows_4_to_7, wide), sums.rows_4_to_7);
}

VNNI inline void finish(const EightRowSums& sums, float* out) {
  alignas(64) float lanes[32];
  alignas(32) float offset[8];
  _mm512_store_ps(lanes, sums.rows_0_to_3);
  _mm512_store_ps(lanes + 16, sums.rows_4_to_7);
  _mm256_store_ps(offset, sums.offsets);
  for (int r = 0; r < 8; ++r)
    out[r] = lanes[4 * r] + lanes[4 * r + 1] + lanes[4 * r + 2] + lanes[4 * r + 3] - offset[r];
}

// v3: the eight rows where they are, row r at w + r · row_blocks.
VNNI void dot_q4_0_eight_rows(const BlockQ4_0* w, std::int64_t row_blocks, const ActivationBlock* x,
                              std::int64_t blocks, float* out) {
  EightRowSums sums = start_sums();
  for (std::int64_t b = 0; b < blocks; ++b) {
    const BlockQ4_0* row[8];
    for (int r = 0; r < 8; ++r) {
      row[r] = w + r * row_blocks + b;
      _mm_prefetch(reinterpret_cast<const char*>(row[r] + 16), _MM_HINT_T0);  // 16 blocks on
    }
    const auto nibbles = [&](int r) {
      return _mm_loadu_si128(reinterpret_cast<const __m128i*>(row[r]->nibbles));
    };
    __m512i first = _mm512_castsi128_si512(nibbles(0));  // rows 0..3, one per 128-bit lane
    first = _mm512_inserti32x4(first, nibbles(1), 1);
    first = _mm512_inserti32x4(first, nibbles(2), 2);
    first = _mm512_inserti32x4(first, nibbles(3), 3);
    __m512i second = _mm512_castsi128_si512(nibbles(4));  // rows 4..7
    second = _mm512_inserti32x4(second, nibbles(5), 1);
    second = _mm512_inserti32x4(second, nibbles(6), 2);
    second = _mm512_inserti32x4(second, nibbles(7), 3);
    __m128i bits = _mm_setzero_si128();  // the eight f16 scales side by side
    bits = _mm_insert_epi16(bits, row[0]->scale.bits, 0);
    bits = _mm_insert_epi16(bits, row[1]->scale.bits, 1);
    bits = _mm_insert_epi16(bits, row[2]->scale.bits, 2);
    bits = _mm_insert_epi16(bits, row[3]->scale.bits, 3);
    bits = _mm_insert_epi16(bits, row[4]->scale.bits, 4);
    bits = _mm_insert_epi16(bits, row[5]->scale.bits, 5);
    bits = _mm_insert_epi16(bits, row[6]->scale.bits, 6);
    bits = _mm_insert_epi16(bits, row[7]->scale.bits, 7);
    add_block(sums, first, second, bits, x[b]);
  }
  finish(sums, out);
}

// v4: the same arithmetic on the interleaved copy (BlockQ4_0x8): one record of 144 bytes per
// block, read front to back, three loads where v3 needs eight inserts and eight scale reads.
VNNI void dot_q4_0_interleaved(const BlockQ4_0x8* group, const ActivationBlock* x,
                               std::int64_t blocks, float* out) {
  EightRowSums sums = start_sums();
  for (std::int64_t b = 0; b < blocks; ++b) {
    const BlockQ4_0x8& record = group[b];
    add_block(sums, _mm512_loadu_si512(record.nibbles[0]), _mm512_loadu_si512(record.nibbles[4]),
              _mm_loadu_si128(reinterpret_cast<const __m128i*>(record.scales)), x[b]);
  }
  finish(sums, out);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

VNNI float dot_q4_1(const BlockQ4_1* w, const ActivationBlock* x, std::int64_t blocks) {
  __m256 sum = _mm256_setzero_ps();
  float minimum_terms = 0.0f;  // Σ_b m_b · d_x · Σ q_x
  for (std::int64_t b = 0; b < blocks; ++b) {
    const __m256i products =
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), unpack_nibbles(w[b].nibbles),
                            load_values(x[b].values));  // q_w is unsigned
    const __m256 scale = _mm256_set1_ps(_cvtsh_ss(w[b].scale.bits) * x[b].scale);
    sum = _mm256_fmadd_ps(_mm256_cvtepi32_ps(products), scale, sum);
    minimum_terms += _cvtsh_ss(w[b].minimum.bits) * x[b].scale * static_cast<float>(x[b].sum);
  }
  return sum_lanes(sum) + minimum_terms;
}

// Kernel v2 for CPUs with AVX2 but no VNNI (most laptops and desktops, AMD's Zen 1 to 3). AVX2
// has no vpdpbusd; two instructions do its work: vpmaddubsw multiplies the 32 byte pairs and adds
// neighbours into 16 int16 (at most 2 · 127 · 127 = 32,258: they never saturate), and vpmaddwd by
// ones adds neighbours again into 8 int32. The loops are the VNNI kernels' with that product in
// place of vpdpbusd (a function compiled for AVX2 cannot inline one compiled for AVX-512).
AVX2 inline __m256i unsigned_dot_avx2(__m256i unsigned_bytes, __m256i signed_bytes) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(unsigned_bytes, signed_bytes),
                           _mm256_set1_epi16(1));
}

AVX2 inline __m256i signed_dot_avx2(__m256i a, __m256i b) {
  return unsigned_dot_avx2(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

AVX2 float dot_q8_0_avx2(const BlockQ8_0* w, const ActivationBlock* x, std::int64_t blocks) {
  __m256 sum = _mm256_setzero_ps();
  for (std::int64_t b = 0; b < blocks; ++b) {
    const __m256i products = signed_dot_avx2(load_values(w[b].values), load_values(x[b].values));
    const __m256 scale = _mm256_set1_ps(_cvtsh_ss(w[b].scale.bits) * x[b].scale);
    sum = _mm256_fmadd_ps(_mm256_cvtepi32_ps(products), scale, sum);
  }
  return sum_lanes(sum);
}

AVX2 void dot_q8_0_tile_avx2(const BlockQ8_0* w, const ActivationBlock* x, std::int64_t blocks,
                             float* out) {
  __m256 sums[4][2];  // [row of x][row of w]
  for (auto& row : sums) row[0] = row[1] = _mm256_setzero_ps();
  for (std::int64_t b = 0; b < blocks; ++b) {
    const __m256i w0 = load_values(w[b].values), w1 = load_values(w[blocks + b].values);
    const __m256i w0_abs = _mm256_sign_epi8(w0, w0), w1_abs = _mm256_sign_epi8(w1, w1);
    const float d0 = _cvtsh_ss(w[b].scale.bits), d1 = _cvtsh_ss(w[blocks + b].scale.bits);
    for (int r = 0; r < 4; ++r) {
      const ActivationBlock& xb = x[r * blocks + b];
      const __m256i xv = load_values(xb.values);
      const __m256i p0 = unsigned_dot_avx2(w0_abs, _mm256_sign_epi8(xv, w0));
      const __m256i p1 = unsigned_dot_avx2(w1_abs, _mm256_sign_epi8(xv, w1));
      sums[r][0] =
          _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(d0 * xb.scale), sums[r][0]);
      sums[r][1] =
          _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(d1 * xb.scale), sums[r][1]);
    }
  }
  for (int r = 0; r < 4; ++r) {
    out[2 * r] = sum_lanes(sums[r][0]);
    out[2 * r + 1] = sum_lanes(sums[r][1]);
  }
}

AVX2 float dot_q4_0_avx2(const BlockQ4_0* w, const ActivationBlock* x, std::int64_t blocks) {
  __m256 sum = _mm256_setzero_ps();
  const __m256i eight = _mm256_set1_epi8(8);
  for (std::int64_t b = 0; b < blocks; ++b) {
    const __m256i q = _mm256_sub_epi8(unpack_nibbles(w[b].nibbles), eight);  // -8..7
    const __m256i products = signed_dot_avx2(q, load_values(x[b].values));
    const __m256 scale = _mm256_set1_ps(_cvtsh_ss(w[b].scale.bits) * x[b].scale);
    sum = _mm256_fmadd_ps(_mm256_cvtepi32_ps(products), scale, sum);
  }
  return sum_lanes(sum);
}

AVX2 float dot_q4_1_avx2(const BlockQ4_1* w, const ActivationBlock* x, std::int64_t blocks) {
  __m256 sum = _mm256_setzero_ps();
  float minimum_terms = 0.0f;  // Σ_b m_b · d_x · Σ q_x
  for (std::int64_t b = 0; b < blocks; ++b) {
    const __m256i products =
        unsigned_dot_avx2(unpack_nibbles(w[b].nibbles), load_values(x[b].values));
    const __m256 scale = _mm256_set1_ps(_cvtsh_ss(w[b].scale.bits) * x[b].scale);
    sum = _mm256_fmadd_ps(_mm256_cvtepi32_ps(products), scale, sum);
    minimum_terms += _cvtsh_ss(w[b].minimum.bits) * x[b].scale * static_cast<float>(x[b].sum);
  }
  return sum_lanes(sum) + minimum_terms;
}

// Kernel v4 on AVX2: the interleaved record of eight rows, two rows per 256-bit register (one per
// 128-bit lane) where AVX-512 holds four. Per block, for each pair of rows: the nibbles unpacked
// in place (and, shift), multiplied with x's low and high sixteen bytes (broadcast to both lanes),
// the two int16 products added (at most 2 · 2 · 15 · 127 = 7,620) and widened to int32 with one
// vpmaddwd: four sums per row. The scales come in as a vector of eight, spread two rows at a time.
// As in the VNNI kernel the nibbles stay unsigned and the 8 is taken off at the end, through Σx.
AVX2 inline __m256i two_row_products(__m256i two_rows, __m256i x_low, __m256i x_high) {
  const __m256i low_bits = _mm256_set1_epi8(0x0F);
  const __m256i low = _mm256_and_si256(two_rows, low_bits);
  const __m256i high = _mm256_and_si256(_mm256_srli_epi16(two_rows, 4), low_bits);
  const __m256i pairs =
      _mm256_add_epi16(_mm256_maddubs_epi16(low, x_low), _mm256_maddubs_epi16(high, x_high));
  return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

AVX2 void dot_q4_0_interleaved_avx2(const BlockQ4_0x8* group, const ActivationBlock* x,
                                    std::int64_t blocks, float* out) {
  __m256 sums[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                    _mm256_setzero_ps()};  // rows 2p and 2p + 1, four lanes each
  __m256 offsets = _mm256_setzero_ps();    // per row: Σ_b d_w d_x · 8 Σx
  for (std::int64_t b = 0; b < blocks; ++b) {
    const BlockQ4_0x8& record = group[b];
    const __m256i x_low =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].values)));
    const __m256i x_high = _mm256_broadcastsi128_si256(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(x[b].values + 16)));
    const __m256 scales = _mm256_mul_ps(
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(record.scales))),
        _mm256_set1_ps(x[b].scale));
    offsets = _mm256_fmadd_ps(scales, _mm256_set1_ps(8.0f * static_cast<float>(x[b].sum)), offsets);
    for (int p = 0; p < 4; ++p) {
      const __m256i two_rows =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(record.nibbles[2 * p]));
      const __m256i spread =
          _mm256_set_epi32(2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p, 2 * p, 2 * p, 2 * p);
      sums[p] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(two_row_products(two_rows, x_low, x_high)),
                                _mm256_permutevar8x32_ps(scales, spread), sums[p]);
    }
  }
  alignas(32) float lanes[32];
  alignas(32) float offset[8];
  for (int p = 0; p < 4; ++p) _mm256_store_ps(lanes + 8 * p, sums[p]);
  _mm256_store_ps(offset, offsets);
  for (int r = 0; r < 8; ++r)
    out[r] = lanes[4 * r] + lanes[4 * r + 1] + lanes[4 * r + 2] + lanes[4 * r + 3] - offset[r];
}
#endif

}  // namespace

namespace {
// Sixteen floats, and sixteen int32: what quantize_activations works on, half a block at a time.
using Floats16 = float __attribute__((vector_size(64)));
using Ints16 = std::int32_t __attribute__((vector_size(64)));
}  // namespace

void quantize_activations(const float* x, std::int64_t n, ActivationBlock* blocks) {
  // Written on vectors: decode quantizes x before every product while the other threads wait, and
  // the scalar loop with std::lround (a library call per value) took 3.3 ns a value, about a
  // tenth of a Q4_0 token.
  const Floats16 zero = {}, limit = zero + 127.0f, half = zero + 0.5f;
  for (std::int64_t b = 0; b < n / kQuantBlock; ++b) {
    Floats16 values[2];
    std::memcpy(values, x + b * kQuantBlock, sizeof values);
    Floats16 largest_lanes = zero;  // max |x|; a NaN never wins a comparison, so it is skipped
    for (const Floats16& v : values) {
      const Floats16 magnitude = v < zero ? -v : v;
      largest_lanes = largest_lanes < magnitude ? magnitude : largest_lanes;
    }
    float largest = 0.0f;
    for (int l = 0; l < 16; ++l) largest = std::max(largest, largest_lanes[l]);
    const float d = largest / 127.0f;
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    ActivationBlock& block = blocks[b];
    block.scale = d;
    block.sum = 0;
    for (int h = 0; h < 2; ++h) {
      Floats16 scaled = values[h] * inverse;
      scaled = scaled <= limit ? scaled : limit;  // only a NaN is outside: it becomes 127
      scaled = scaled >= -limit ? scaled : -limit;
      // Round half away from zero, as std::lround and llama.cpp's roundf do: truncate, then step
      // away from zero where the part cut off is at least a half (it is exact: s - trunc(s)).
      Ints16 whole = __builtin_convertvector(scaled, Ints16);
      const Floats16 fraction = scaled - __builtin_convertvector(whole, Floats16);
      whole = whole - (fraction >= half) + (fraction <= -half);  // a true comparison is -1
      for (int l = 0; l < 16; ++l) {
        block.values[16 * h + l] = static_cast<std::int8_t>(whole[l]);
        block.sum += whole[l];
      }
    }
  }
}

void set_quantized_kernel(QuantizedKernel kernel) {
  chosen_kernel = kernel;
}

bool using_integer_dot() {
  const QuantizedKernel kernel = chosen_kernel;
  if (kernel == QuantizedKernel::dequantize_to_float) return false;
  if (kernel != QuantizedKernel::automatic && !cpu_has_vnni() && !cpu_has_avx2())
    fail("the integer dot product needs AVX-512 VNNI or AVX2, which this CPU does not have");
  return cpu_has_vnni() || cpu_has_avx2();
}

bool using_eight_rows() {
  if (chosen_kernel != QuantizedKernel::eight_rows) return false;
  if (!cpu_has_vnni())
    fail("kernel v3 (eight rows) needs AVX-512 VNNI, which this CPU does not have");
  return true;
}

bool using_interleaved() {
  const QuantizedKernel kernel = chosen_kernel;
  return (kernel == QuantizedKernel::automatic || kernel == QuantizedKernel::interleaved) &&
         using_integer_dot();
}

bool has_eight_row_kernel() {
  return cpu_has_vnni();
}

#if defined(LLAMA4_INTEGER_DOT)
float integer_dot(const BlockQ8_0* w, const ActivationBlock* x, std::int64_t blocks) {
  return cpu_has_vnni() ? dot_q8_0(w, x, blocks) : dot_q8_0_avx2(w, x, blocks);
}
float integer_dot(const BlockQ4_0* w, const ActivationBlock* x, std::int64_t blocks) {
  return cpu_has_vnni() ? dot_q4_0(w, x, blocks) : dot_q4_0_avx2(w, x, blocks);
}
float integer_dot(const BlockQ4_1* w, const ActivationBlock* x, std::int64_t blocks) {
  return cpu_has_vnni() ? dot_q4_1(w, x, blocks) : dot_q4_1_avx2(w, x, blocks);
}
void integer_dot_eight_rows(const BlockQ4_0* w, std::int64_t row_blocks, const ActivationBlock* x,
                            std::int64_t blocks, float* out) {
  dot_q4_0_eight_rows(w, row_blocks, x, blocks, out);
}
void integer_dot_q8_0_tile(const BlockQ8_0* w, const ActivationBlock* x, std::int64_t blocks,
                           float* out) {
  dot_q8_0_tile_avx2(w, x, blocks, out);
}
bool has_q8_0_tile() {
  return cpu_has_avx2();
}
void integer_dot_interleaved(const BlockQ4_0x8* group, const ActivationBlock* x,
                             std::int64_t blocks, float* out) {
  if (cpu_has_vnni()) return dot_q4_0_interleaved(group, x, blocks, out);
  dot_q4_0_interleaved_avx2(group, x, blocks, out);
}
#else
float integer_dot(const BlockQ8_0*, const ActivationBlock*, std::int64_t) {
  fail("the integer dot product is not built for this CPU");
}
float integer_dot(const BlockQ4_0*, const ActivationBlock*, std::int64_t) {
  fail("the integer dot product is not built for this CPU");
}
float integer_dot(const BlockQ4_1*, const ActivationBlock*, std::int64_t) {
  fail("the integer dot product is not built for this CPU");
}
void integer_dot_eight_rows(const BlockQ4_0*, std::int64_t, const ActivationBlock*, std::int64_t,
                            float*) {
  fail("the integer dot product is not built for this CPU");
}
void integer_dot_interleaved(const BlockQ4_0x8*, const ActivationBlock*, std::int64_t, float*) {
  fail("the integer dot product is not built for this CPU");
}
void integer_dot_q8_0_tile(const BlockQ8_0*, const ActivationBlock*, std::int64_t, float*) {
  fail("the integer dot product is not built for this CPU");
}
bool has_q8_0_tile() {
  return false;
}
#endif

}  // namespace llama4
