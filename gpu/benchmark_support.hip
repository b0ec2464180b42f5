// Random device data and event timing for the GPU benchmarks (gpu/benchmark_support.hpp).
#include "gpu/benchmark_support.hpp"

#include "common/tensors/error.hpp"
#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#include "gpu/launch.hpp"

namespace llama4::gpu {
namespace {

// A fixed grid that walks any count (a grid-stride loop), so a 2 GB buffer needs no giant grid.
constexpr unsigned int kFillBlocks = 2048;

// splitmix64's finaliser of (seed, index): 64 well-mixed bits.
__device__ std::uint64_t hash(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed * 0x9e3779b97f4a7c15ull + index;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Uniform in [-scale, scale) from the top 24 bits of the hash.
__device__ float uniform(std::uint64_t seed, std::uint64_t index, float scale) {
  const float unit = static_cast<float>(hash(seed, index) >> 40) * (1.0f / 16777216.0f);  // [0, 1)
  return scale * (2.0f * unit - 1.0f);
}

// x: [count]. Grid (kFillBlocks); thread i writes elements i, i + grid, i + 2·grid, ...
__global__ void fill_f32_kernel(float* x, std::int64_t count, std::uint64_t seed, float scale) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    x[i] = uniform(seed, static_cast<std::uint64_t>(i), scale);
  }
}

// x: [count] bf16 bits. Same walk.
__global__ void fill_bf16_kernel(std::uint16_t* x, std::int64_t count, std::uint64_t seed,
                                 float scale) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    x[i] = float_to_bf16_bits(uniform(seed, static_cast<std::uint64_t>(i), scale));
  }
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

}  // namespace

void fill_random(float* x, std::int64_t count, std::uint64_t seed, float scale) {
  if (count <= 0) return;
  fill_f32_kernel<<<kFillBlocks, kThreadsPerBlock>>>(x, count, seed, scale);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

void fill_random(bfloat16* x, std::int64_t count, std::uint64_t seed, float scale) {
  if (count <= 0) return;
  fill_bf16_kernel<<<kFillBlocks, kThreadsPerBlock>>>(as_bits(x), count, seed, scale);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

double milliseconds_per_run(const std::function<void(int run)>& run_once, int warm_up, int runs) {
  if (warm_up < 0 || runs < 1)
    fail("milliseconds_per_run: need warm_up >= 0 and runs >= 1, got ", warm_up, " and ", runs);
  for (int r = 0; r < warm_up; ++r) run_once(r);
  Event start, stop;
  start.record();
  for (int r = 0; r < runs; ++r) run_once(r);
  stop.record();
  return static_cast<double>(stop.milliseconds_since(start)) / runs;
}

}  // namespace llama4::gpu
