// Number-format conversions on the GPU, one thread per element. Mirrors
// common/tensors/bfloat16.hpp: the results are bit-identical to bfloat16_to_float and
// float_to_bfloat16.
//
// All pointers are device memory (DeviceBuffer::data()). Like every kernel wrapper in gpu/, these
// return as soon as the kernel is queued; download() or synchronize() waits for it.
#pragma once

#include <cstdint>

#include "common/tensors/bfloat16.hpp"

namespace llama4::gpu {

// y[i] = float(x[i]) for i < count. Exact: a bf16 is the top half of a float.
void bf16_to_f32(const bfloat16* x, float* y, std::int64_t count);

// y[i] = bf16(x[i]), rounded to nearest, ties to even; NaN stays NaN.
void f32_to_bf16(const float* x, bfloat16* y, std::int64_t count);

}  // namespace llama4::gpu
