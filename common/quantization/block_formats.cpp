#include "common/quantization/block_formats.hpp"

#include <algorithm>
#include <cctype>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <string>

#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

// The largest finite f16. A block whose scale would exceed it cannot be stored: f16 would turn it
// into infinity and every weight of the block into Inf or NaN.
constexpr float kLargestFloat16 = 65504.0f;

float16 checked_scale(float value, const float* x, std::int64_t block, const char* what) {
  if (std::fabs(value) > kLargestFloat16) {
    fail("block ", block, " (elements ", block * kQuantBlock, "..", block * kQuantBlock + 31,
         ") needs a ", what, " of ", value, ", beyond f16's range (largest ", kLargestFloat16,
         "); the weights reach ", *std::max_element(x, x + kQuantBlock, [](float a, float b) {
           return std::fabs(a) < std::fabs(b);
         }));
  }
  return float_to_float16(value);
}

// [excerpt quantize_q8_0]
void quantize_block_q8_0(const float* x, BlockQ8_0& block, std::int64_t index) {
  float largest = 0.0f;  // max |x|
  for (int j = 0; j < kQuantBlock; ++j) largest = std::max(largest, std::fabs(x[j]));
  const float d = largest / 127.0f;
  const float inverse = d != 0.0f ? 1.0f / d : 0.0f;  // an all-zero block stores d = 0, q = 0
  block.scale = checked_scale(d, x, index, "scale");
  for (int j = 0; j < kQuantBlock; ++j)
    block.values[j] = static_cast<std::int8_t>(std::round(x[j] * inverse));  // ties away from 0
}
// [end excerpt]

// [excerpt quantize_q4_0]
void quantize_block_q4_0(const float* x, BlockQ4_0& block, std::int64_t index) {
  float largest = 0.0f, extreme = 0.0f;  // max |x|, and that x with its sign
  for (int j = 0; j < kQuantBlock; ++j) {
    if (largest < std::fabs(x[j])) {
      largest = std::fabs(x[j]);
      extreme = x[j];
    }
  }
  const float d = extreme / -8.0f;  // the extreme lands on q = 0, i.e. -8 after the offset
  const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
  block.scale = checked_scale(d, x, index, "scale");
  for (int j = 0; j < kQuantBlock / 2; ++j) {
    // x · (1/d) lies in [-8, 8]; + 8.5 and truncation rounds it to the nearest of 0..16; 16 (the
    // extreme's opposite, if it is as large) is clamped to 15.
    const auto low =
        std::min(15, static_cast<int>(static_cast<std::int8_t>(x[j] * inverse + 8.5f)));
    const auto high =
        std::min(15, static_cast<int>(static_cast<std::int8_t>(x[j + 16] * inverse + 8.5f)));
    block.nibbles[j] = static_cast<std::uint8_t>(low | (high << 4));
  }
}
// [end excerpt]

void quantize_block_q4_1(const float* x, BlockQ4_1& block, std::int64_t index) {
  float minimum = FLT_MAX, maximum = -FLT_MAX;
  for (int j = 0; j < kQuantBlock; ++j) {
    minimum = std::min(minimum, x[j]);
    maximum = std::max(maximum, x[j]);
  }
  const float d = (maximum - minimum) / 15.0f;
  const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
  block.scale = checked_scale(d, x, index, "scale");
  block.minimum = checked_scale(minimum, x, index, "minimum");
  for (int j = 0; j < kQuantBlock / 2; ++j) {
    const auto low =
        std::min(15, static_cast<int>(static_cast<std::int8_t>((x[j] - minimum) * inverse + 0.5f)));
    const auto high = std::min(
        15, static_cast<int>(static_cast<std::int8_t>((x[j + 16] - minimum) * inverse + 0.5f)));
    block.nibbles[j] = static_cast<std::uint8_t>(low | (high << 4));
  }
}

template <class Block>
const Block* blocks_of(const std::byte* bytes) {
  return reinterpret_cast<const Block*>(bytes);  // blocks are 2-byte aligned structs of bytes
}

}  // namespace

DType parse_quantization_format(std::string_view name) {
  std::string lower(name);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "q8_0") return DType::Q8_0;
  if (lower == "q4_0") return DType::Q4_0;
  if (lower == "q4_1") return DType::Q4_1;
  fail("unknown quantization format \"", name, "\"; the formats are q8_0, q4_0 and q4_1");
}

void quantize_row(const float* x, std::int64_t n, DType format, std::byte* blocks) {
  if (!is_block_quantized(format))
    fail("quantize_row: ", dtype_name(format), " is not a block format");
  if (n % kQuantBlock != 0) {
    fail("a row of ", n, " weights is not a whole number of ", kQuantBlock, "-weight blocks");
  }
  for (std::int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i]))
      fail("element ", i, " of the row is ", x[i], ": it cannot be quantized");
  }
  for (std::int64_t b = 0; b < n / kQuantBlock; ++b) {
    const float* block_x = x + b * kQuantBlock;
    switch (format) {
      case DType::Q8_0:
        quantize_block_q8_0(block_x, reinterpret_cast<BlockQ8_0*>(blocks)[b], b);
        break;
      case DType::Q4_0:
        quantize_block_q4_0(block_x, reinterpret_cast<BlockQ4_0*>(blocks)[b], b);
        break;
      default:
        quantize_block_q4_1(block_x, reinterpret_cast<BlockQ4_1*>(blocks)[b], b);
        break;
    }
  }
}

float dequantize_element(const std::byte* block, DType format, int index) {
  const int nibble_byte = index % 16;
  const int shift = index < 16 ? 0 : 4;
  switch (format) {
    case DType::Q8_0: {
      const auto& b = *blocks_of<BlockQ8_0>(block);
      return to_float(b.scale) * static_cast<float>(b.values[index]);
    }
    case DType::Q4_0: {
      const auto& b = *blocks_of<BlockQ4_0>(block);
      const int q = (b.nibbles[nibble_byte] >> shift) & 0x0F;
      return to_float(b.scale) * static_cast<float>(q - 8);
    }
    case DType::Q4_1: {
      const auto& b = *blocks_of<BlockQ4_1>(block);
      const int q = (b.nibbles[nibble_byte] >> shift) & 0x0F;
      return to_float(b.scale) * static_cast<float>(q) + to_float(b.minimum);
    }
    default:
      fail("dequantize: ", dtype_name(format), " is not a block format");
  }
}

void dequantize_row(const std::byte* blocks, std::int64_t n, DType format, float* x) {
  if (!is_block_quantized(format))
    fail("dequantize_row: ", dtype_name(format), " is not a block format");
  const std::size_t block_bytes = dtype_bytes(format, kQuantBlock);
  for (std::int64_t b = 0; b < n / kQuantBlock; ++b) {
    const std::byte* block = blocks + static_cast<std::size_t>(b) * block_bytes;
    for (int j = 0; j < kQuantBlock; ++j)
      x[b * kQuantBlock + j] = dequantize_element(block, format, j);
  }
}

}  // namespace llama4
