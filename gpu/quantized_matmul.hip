// quantized_linear: one kernel for the three block formats, each format a small struct that says
// how big its blocks are and how to read element i of a row. Written to be read, like matmul.hip;
// the GPU's decode is memory-bound, so reading 8.5 or 4.5 bits a weight instead of 16 is most of
// the gain whatever the arithmetic.
#include "gpu/quantized_matmul.hpp"

#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#include "gpu/launch.hpp"

namespace llama4::gpu {
namespace {

constexpr int kBlockValues = 32;  // every format: blocks of 32 along the input dimension

// IEEE half precision (the blocks' scales) to float, by hand so the same code builds for both
// runtimes: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits. Subnormals (exponent 0) are
// mantissa · 2^-24; exponent 31 is infinity or NaN.
__device__ inline float f16_bits_to_float(std::uint16_t bits) {
  const unsigned int sign = static_cast<unsigned int>(bits & 0x8000u) << 16;
  const unsigned int exponent = (bits >> 10) & 0x1Fu;
  const unsigned int mantissa = bits & 0x3FFu;
  if (exponent == 0) {
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;  // 2^-24
    return sign != 0 ? -magnitude : magnitude;
  }
  const unsigned int float_exponent = exponent == 31 ? 0xFFu : exponent + (127 - 15);
  return __uint_as_float(sign | (float_exponent << 23) | (mantissa << 13));
}

// The f16 at `bytes` (little-endian; blocks are 2-byte aligned, but reading two bytes needs no
// alignment at all).
__device__ inline float f16_at(const unsigned char* bytes) {
  return f16_bits_to_float(static_cast<std::uint16_t>(bytes[0] | (bytes[1] << 8)));
}

// Element j (0..31) of a 4-bit block's 16 nibble bytes: byte j's low nibble for j < 16, byte
// j - 16's high nibble after.
__device__ inline int nibble(const unsigned char* nibbles, int j) {
  return j < 16 ? (nibbles[j] & 0x0F) : (nibbles[j - 16] >> 4);
}

// Q8_0: [d: f16][q: 32 x int8], element = d · q.
struct Q8_0Format {
  static constexpr int kBlockBytes = 34;
  __device__ static float value(const unsigned char* block, int j) {
    return f16_at(block) * static_cast<float>(static_cast<signed char>(block[2 + j]));
  }
};

// Q4_0: [d: f16][16 nibble bytes], element = d · (q - 8).
struct Q4_0Format {
  static constexpr int kBlockBytes = 18;
  __device__ static float value(const unsigned char* block, int j) {
    return f16_at(block) * static_cast<float>(nibble(block + 2, j) - 8);
  }
};

// Q4_1: [d: f16][m: f16][16 nibble bytes], element = d · q + m.
struct Q4_1Format {
  static constexpr int kBlockBytes = 20;
  __device__ static float value(const unsigned char* block, int j) {
    return f16_at(block) * static_cast<float>(nibble(block + 4, j)) + f16_at(block + 2);
  }
};

// x: [rows, in] f32, weight: [out, in] packed, y: [rows, out] f32. Grid (out, rows).
//
// As gpu::linear's kernel: one block per output element, thread t takes elements t, t + 256, ...
// of the row, so at each step the 32 threads of a warp read one whole weight block's values (and
// all read its scale, one transaction). block_sum adds the threads' partial sums.
template <class Format>
__global__ void quantized_linear_kernel(const float* x, const unsigned char* weight, float* y,
                                        std::int64_t in, std::int64_t out) {
  const std::int64_t o = blockIdx.x;
  const std::int64_t r = blockIdx.y;
  const float* x_row = x + r * in;
  const unsigned char* weight_row = weight + o * (in / kBlockValues) * Format::kBlockBytes;
  float partial = 0.0f;
  for (std::int64_t i = threadIdx.x; i < in; i += blockDim.x) {
    const unsigned char* block = weight_row + (i / kBlockValues) * Format::kBlockBytes;
    partial += x_row[i] * Format::value(block, static_cast<int>(i % kBlockValues));
  }
  const float total = block_sum(partial);  // every thread must get here: no early return above
  if (threadIdx.x == 0) y[r * out + o] = total;
}

template <class Format>
void launch(const float* x, const std::byte* weight, float* y, std::int64_t rows, std::int64_t in,
            std::int64_t out) {
  const dim3 grid(blocks_for(out, 1, "quantized_linear"), grid_rows(rows, "quantized_linear"));
  quantized_linear_kernel<Format>
      <<<grid, kThreadsPerBlock>>>(x, reinterpret_cast<const unsigned char*>(weight), y, in, out);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

}  // namespace

void quantized_linear(const float* x, const std::byte* weight, DType format, float* y,
                      std::int64_t rows, std::int64_t in, std::int64_t out) {
  if (in % kBlockValues != 0) {
    fail("quantized_linear: the input dimension ", in, " is not a multiple of ", kBlockValues);
  }
  if (rows == 0 || out == 0) return;  // nothing to compute; a launch with zero blocks is an error
  switch (format) {
    case DType::Q8_0:
      return launch<Q8_0Format>(x, weight, y, rows, in, out);
    case DType::Q4_0:
      return launch<Q4_0Format>(x, weight, y, rows, in, out);
    case DType::Q4_1:
      return launch<Q4_1Format>(x, weight, y, rows, in, out);
    default:
      fail("quantized_linear: ", dtype_name(format), " is not a block-quantized format");
  }
}

}  // namespace llama4::gpu
