// The residual add: one thread per element.
#include "gpu/residual.hpp"

#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#include "gpu/launch.hpp"

namespace llama4::gpu {
namespace {

// [excerpt add_into_kernel]
// a, b: [count] f32. Grid (ceil(count / 256)).
__global__ void add_into_kernel(float* a, const float* b, std::int64_t count) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < count) a[i] += b[i];
}
// [end excerpt]

}  // namespace

void add_into(float* a, const float* b, std::int64_t count) {
  if (count == 0) return;  // a launch with zero blocks is an error
  add_into_kernel<<<blocks_for(count, kThreadsPerBlock, "add_into"), kThreadsPerBlock>>>(a, b,
                                                                                         count);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

}  // namespace llama4::gpu
