#include "common/quantization/integer_dot.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#include "common/tensors/error.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#define LLAMA4_INTEGER_DOT 1
// Compiled for AVX-512 VNNI whatever the build's -march; run only where the CPU has it.
#define VNNI __attribute__((target("avx2,f16c,fma,avx512f,avx512vl,avx512bw,avx512vnni")))
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

#if defined(LLAMA4_INTEGER_DOT)
VNNI inline float sum_lanes(__m256 v) {
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
VNNI inline __m256i unpack_nibbles(const std::uint8_t* nibbles) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(nibbles));
  const __m128i mask = _mm_set1_epi8(0x0F);
  const __m128i low = _mm_and_si128(packed, mask);
  const __m128i high = _mm_and_si128(_mm_srli_epi16(packed, 4), mask);
  return _mm256_set_m128i(high, low);
}

VNNI inline __m256i load_values(const std::int8_t* values) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(values));
}

VNNI float dot_q8_0(const BlockQ8_0* w, const ActivationBlock* x, std::int64_t blocks) {
  __m256 sum = _mm256_setzero_ps();
  for (std::int64_t b = 0; b < blocks; ++b) {
    const __m256i products = signed_dot(load_values(w[b].values), load_values(x[b].values));
    const __m256 scale = _mm256_set1_ps(_cvtsh_ss(w[b].scale.bits) * x[b].scale);
    sum = _mm256_fmadd_ps(_mm256_cvtepi32_ps(products), scale, sum);
  }
  return sum_lanes(sum);
}

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
#endif

}  // namespace

void quantize_activations(const float* x, std::int64_t n, ActivationBlock* blocks) {
  for (std::int64_t b = 0; b < n / kQuantBlock; ++b) {
    const float* values = x + b * kQuantBlock;
    float largest = 0.0f;
    for (int j = 0; j < kQuantBlock; ++j) largest = std::max(largest, std::fabs(values[j]));
    const float d = largest / 127.0f;
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    ActivationBlock& block = blocks[b];
    block.scale = d;
    block.sum = 0;
    for (int j = 0; j < kQuantBlock; ++j) {
      block.values[j] = static_cast<std::int8_t>(std::lround(values[j] * inverse));
      block.sum += block.values[j];
    }
  }
}

void set_quantized_kernel(QuantizedKernel kernel) {
  chosen_kernel = kernel;
}

bool using_integer_dot() {
  const QuantizedKernel kernel = chosen_kernel;
  if (kernel == QuantizedKernel::dequantize_to_float) return false;
  if (kernel == QuantizedKernel::integer_dot && !cpu_has_vnni())
    fail("the integer dot product needs AVX-512 VNNI, which this CPU does not have");
  return cpu_has_vnni();
}

#if defined(LLAMA4_INTEGER_DOT)
float integer_dot(const BlockQ8_0* w, const ActivationBlock* x, std::int64_t blocks) {
  return dot_q8_0(w, x, blocks);
}
float integer_dot(const BlockQ4_0* w, const ActivationBlock* x, std::int64_t blocks) {
  return dot_q4_0(w, x, blocks);
}
float integer_dot(const BlockQ4_1* w, const ActivationBlock* x, std::int64_t blocks) {
  return dot_q4_1(w, x, blocks);
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
#endif

}  // namespace llama4
