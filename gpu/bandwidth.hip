// Bandwidth probes: a streaming read kernel and a device-to-device copy, timed with GPU events.
#include "gpu/bandwidth.hpp"

#include "common/tensors/error.hpp"
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

// A GPU event, destroyed with its owner.
class Event {
 public:
  Event() { LLAMA4_GPU_CHECK(hipEventCreate(&event_)); }
  ~Event() { (void)hipEventDestroy(event_); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void record() { LLAMA4_GPU_CHECK(hipEventRecord(event_)); }
  // Milliseconds from `start` to this event, once this event has happened.
  float milliseconds_since(const Event& start) {
    LLAMA4_GPU_CHECK(hipEventSynchronize(event_));
    float milliseconds = 0.0f;
    LLAMA4_GPU_CHECK(hipEventElapsedTime(&milliseconds, start.event_, event_));
    return milliseconds;
  }

 private:
  hipEvent_t event_{};
};

// Runs `work` once to warm up, then `repeats` times between two events; returns bytes per second.
template <class Work>
double timed(Work work, double bytes_per_run, int repeats) {
  if (repeats < 1) fail("bandwidth: repeats must be positive");
  work();
  Event start, stop;
  start.record();
  for (int r = 0; r < repeats; ++r) work();
  stop.record();
  const double seconds = stop.milliseconds_since(start) / 1e3;
  return bytes_per_run * repeats / seconds;
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
