// Bandwidth probes: a streaming read kernel and a device-to-device copy, timed with GPU events.
#include "gpu/bandwidth.hpp"

#include "common/tensors/error.hpp"
#include "gpu/benchmark_support.hpp"
#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#include "gpu/launch.hpp"

namespace llama4::gpu {
namespace {

// Enough blocks to keep every multiprocessor of any current GPU busy (an H100 has 132, an MI250X's
// die 110); each thread then walks the array with a stride of the whole grid.
constexpr unsigned int kReadBlocks = 4096;

// x: [vectors] float4, sink: [1]. Grid (kReadBlocks). Thread i reads vectors i, i + grid, i +
// 2·grid,
// ...: at every step the grid reads one contiguous stretch, 16 bytes per thread.
__global__ void read_kernel(const float4* x, std::int64_t vectors, float* sink) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  float sum = 0.0f;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       i < vectors; i += stride) {
    const float4 v = x[i];
    sum += v.x + v.y + v.z + v.w;
  }
  if (sum == -1.0f) sink[0] = sum;  // practically never true, but the compiler cannot know that
}

// Runs `work` once to warm up, then `repeats` times between two GPU events (gpu/benchmark_support);
// returns bytes per second.
template <class Work>
double timed(Work work, double bytes_per_run, int repeats) {
  if (repeats < 1) fail("bandwidth: repeats must be positive");
  const double milliseconds = milliseconds_per_run([&](int) { work(); }, 1, repeats);
  return bytes_per_run / (milliseconds / 1e3);
}

}  // namespace

double read_bandwidth(const float* x, std::int64_t count, float* sink, int repeats) {
  if (count <= 0 || count % 4 != 0)
    fail("read_bandwidth: count must be a positive multiple of 4, got ", count);
  return timed(
      [&] {
        read_kernel<<<kReadBlocks, kThreadsPerBlock>>>(reinterpret_cast<const float4*>(x),
                                                       count / 4, sink);
        LLAMA4_GPU_CHECK(hipGetLastError());
      },
      static_cast<double>(count) * sizeof(float), repeats);
}

double copy_bandwidth(float* destination, const float* source, std::int64_t count, int repeats) {
  if (count <= 0) fail("copy_bandwidth: count must be positive, got ", count);
  const std::size_t bytes = static_cast<std::size_t>(count) * sizeof(float);
  return timed([&] { copy_on_device(destination, source, bytes); },
               2.0 * static_cast<double>(bytes), repeats);
}

}  // namespace llama4::gpu
