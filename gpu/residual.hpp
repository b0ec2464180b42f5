// The residual connection on the GPU: a += b, the twin of add_into in
// common/layers/decoder_layer.cpp.
#pragma once

#include <cstdint>

namespace llama4::gpu {

// a[i] += b[i] for i < count (device memory). Returns once the kernel is queued.
void add_into(float* a, const float* b, std::int64_t count);

}  // namespace llama4::gpu
