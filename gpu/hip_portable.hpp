// hip_portable.hpp: the header every .hip file includes, instead of <hip/hip_runtime.h>.
//
// The GPU code is written once, in HIP's spelling (hipMalloc, hipMemcpy, __global__, kernel<<<grid,
// block>>>(...)), and compiled two ways:
//
//   AMD     hipcc / ROCm's clang compiles the .hip file as HIP. This header includes the real HIP
//           runtime header and adds nothing but the helpers at the bottom.
//   NVIDIA  nvcc compiles the same file as CUDA, with __HIP_PLATFORM_NVIDIA__ defined (the build
//           does both, see cmake/GpuBackend.cmake). This header then maps each hip* name we use
//           onto its CUDA twin, one line each: HIP was designed as a copy of the CUDA runtime API,
//           so hipMalloc is cudaMalloc, hipMemcpy is cudaMemcpy, and so on.
//
// Why not HIP's own NVIDIA headers (hip/nvidia_detail), which do exactly this mapping? Their
// ROCm 5.x versions do not compile with CUDA 13: they use the texture references removed in CUDA
// 12, the cudaDeviceProp clock fields removed in CUDA 13, and old signatures of a dozen calls. So
// we map the small subset this project uses ourselves. To use another runtime call, add it to
// the NVIDIA table below: an inline function where the signature is the same, a constant for an
// enum value.
//
// Device code that is NOT the same on both (the warp width, shuffles) goes through the helpers at
// the bottom, in llama4::gpu. Host code outside .hip files never includes this header: it sees the
// plain C++ interface in gpu/device.hpp and friends, with no hip or cuda types.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__HIP_PLATFORM_NVIDIA__) && defined(__CUDACC__)
#define LLAMA4_GPU_NVIDIA 1
#define LLAMA4_GPU_AMD 0
#include <cuda_runtime.h>
#elif defined(__HIP__)
#define LLAMA4_GPU_NVIDIA 0
#define LLAMA4_GPU_AMD 1
#include <hip/hip_runtime.h>
#else
#error \
    "gpu/hip_portable.hpp is for .hip files, compiled by ROCm's clang (AMD) or by nvcc with -D__HIP_PLATFORM_NVIDIA__"
#endif

// ---------------------------------------------------------------------------------------------
// NVIDIA: the HIP runtime subset, mapped onto CUDA.
// ---------------------------------------------------------------------------------------------
#if LLAMA4_GPU_NVIDIA

// Types.
using hipError_t = cudaError_t;
using hipStream_t = cudaStream_t;
using hipEvent_t = cudaEvent_t;
using hipDeviceProp_t = cudaDeviceProp;
using hipMemcpyKind = cudaMemcpyKind;
using hipDeviceAttribute_t = cudaDeviceAttr;

// Error codes and messages.
inline constexpr hipError_t hipSuccess = cudaSuccess;
inline constexpr hipError_t hipErrorNoDevice = cudaErrorNoDevice;
inline constexpr hipError_t hipErrorInvalidDevice = cudaErrorInvalidDevice;
inline constexpr hipError_t hipErrorInvalidValue = cudaErrorInvalidValue;
inline constexpr hipError_t hipErrorOutOfMemory = cudaErrorMemoryAllocation;
inline constexpr hipError_t hipErrorInsufficientDriver = cudaErrorInsufficientDriver;
inline constexpr hipError_t hipErrorNotReady = cudaErrorNotReady;
inline hipError_t hipGetLastError() {
  return cudaGetLastError();
}
inline hipError_t hipPeekAtLastError() {
  return cudaPeekAtLastError();
}
inline const char* hipGetErrorName(hipError_t error) {
  return cudaGetErrorName(error);
}
inline const char* hipGetErrorString(hipError_t error) {
  return cudaGetErrorString(error);
}

// Devices. The clock rates are attributes only: CUDA 13 removed cudaDeviceProp::clockRate.
inline hipError_t hipGetDeviceCount(int* count) {
  return cudaGetDeviceCount(count);
}
inline hipError_t hipSetDevice(int device) {
  return cudaSetDevice(device);
}
inline hipError_t hipGetDevice(int* device) {
  return cudaGetDevice(device);
}
inline hipError_t hipGetDeviceProperties(hipDeviceProp_t* properties, int device) {
  return cudaGetDeviceProperties(properties, device);
}
inline hipError_t hipDeviceGetAttribute(int* value, hipDeviceAttribute_t attribute, int device) {
  return cudaDeviceGetAttribute(value, attribute, device);
}
inline constexpr hipDeviceAttribute_t hipDeviceAttributeClockRate = cudaDevAttrClockRate;
inline constexpr hipDeviceAttribute_t hipDeviceAttributeMemoryClockRate =
    cudaDevAttrMemoryClockRate;
inline constexpr hipDeviceAttribute_t hipDeviceAttributeMultiprocessorCount =
    cudaDevAttrMultiProcessorCount;
inline constexpr hipDeviceAttribute_t hipDeviceAttributeWarpSize = cudaDevAttrWarpSize;
inline constexpr hipDeviceAttribute_t hipDeviceAttributeMaxThreadsPerBlock =
    cudaDevAttrMaxThreadsPerBlock;
inline constexpr hipDeviceAttribute_t hipDeviceAttributeMaxSharedMemoryPerBlock =
    cudaDevAttrMaxSharedMemoryPerBlock;
inline constexpr hipDeviceAttribute_t hipDeviceAttributeComputeCapabilityMajor =
    cudaDevAttrComputeCapabilityMajor;
inline constexpr hipDeviceAttribute_t hipDeviceAttributeComputeCapabilityMinor =
    cudaDevAttrComputeCapabilityMinor;
inline hipError_t hipDeviceSynchronize() {
  return cudaDeviceSynchronize();
}
inline hipError_t hipDeviceReset() {
  return cudaDeviceReset();
}

// Memory.
inline constexpr hipMemcpyKind hipMemcpyHostToDevice = cudaMemcpyHostToDevice;
inline constexpr hipMemcpyKind hipMemcpyDeviceToHost = cudaMemcpyDeviceToHost;
inline constexpr hipMemcpyKind hipMemcpyDeviceToDevice = cudaMemcpyDeviceToDevice;
inline constexpr hipMemcpyKind hipMemcpyDefault = cudaMemcpyDefault;
inline hipError_t hipMalloc(void** pointer, std::size_t bytes) {
  return cudaMalloc(pointer, bytes);
}
template <class T>
inline hipError_t hipMalloc(T** pointer, std::size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(pointer), bytes);
}
inline hipError_t hipFree(void* pointer) {
  return cudaFree(pointer);
}
inline hipError_t hipMemcpy(void* destination, const void* source, std::size_t bytes,
                            hipMemcpyKind kind) {
  return cudaMemcpy(destination, source, bytes, kind);
}
inline hipError_t hipMemcpyAsync(void* destination, const void* source, std::size_t bytes,
                                 hipMemcpyKind kind, hipStream_t stream = nullptr) {
  return cudaMemcpyAsync(destination, source, bytes, kind, stream);
}
inline hipError_t hipMemset(void* pointer, int value, std::size_t bytes) {
  return cudaMemset(pointer, value, bytes);
}
inline hipError_t hipMemsetAsync(void* pointer, int value, std::size_t bytes,
                                 hipStream_t stream = nullptr) {
  return cudaMemsetAsync(pointer, value, bytes, stream);
}
inline hipError_t hipMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes) {
  return cudaMemGetInfo(free_bytes, total_bytes);
}

// Streams and events (for timing kernels).
inline hipError_t hipStreamCreate(hipStream_t* stream) {
  return cudaStreamCreate(stream);
}
inline hipError_t hipStreamDestroy(hipStream_t stream) {
  return cudaStreamDestroy(stream);
}
inline hipError_t hipStreamSynchronize(hipStream_t stream) {
  return cudaStreamSynchronize(stream);
}
inline hipError_t hipEventCreate(hipEvent_t* event) {
  return cudaEventCreate(event);
}
inline hipError_t hipEventDestroy(hipEvent_t event) {
  return cudaEventDestroy(event);
}
inline hipError_t hipEventRecord(hipEvent_t event, hipStream_t stream = nullptr) {
  return cudaEventRecord(event, stream);
}
inline hipError_t hipEventSynchronize(hipEvent_t event) {
  return cudaEventSynchronize(event);
}
inline hipError_t hipEventElapsedTime(float* milliseconds, hipEvent_t start, hipEvent_t stop) {
  return cudaEventElapsedTime(milliseconds, start, stop);
}

#endif  // LLAMA4_GPU_NVIDIA

// ---------------------------------------------------------------------------------------------
// Device helpers, the same on both platforms. For code inside kernels.
// ---------------------------------------------------------------------------------------------
namespace llama4::gpu {

// The warp (NVIDIA) or wavefront (AMD): the group of threads that runs one instruction together,
// and within which threads can read each other's registers (shuffles). Its width differs:
//   NVIDIA                          32
//   AMD CDNA (gfx9: MI200, MI300)   64
//   AMD RDNA (gfx10, gfx11)         32 by default
// so it is never written as a literal. kWarpSize is right in device code only: in an AMD build
// the host pass of the compiler does not know which GPU will run the code, so it sees a
// placeholder (64), and host code must ask the device (DeviceInfo::warp_size). HIP's own
// `warpSize` is not used because it stopped being a compile-time constant in ROCm 7.
#if LLAMA4_GPU_NVIDIA
inline constexpr int kWarpSize = 32;
#elif defined(__HIP_DEVICE_COMPILE__) && (defined(__GFX8__) || defined(__GFX9__))
inline constexpr int kWarpSize = 64;
#elif defined(__HIP_DEVICE_COMPILE__) && defined(__AMDGCN_WAVEFRONT_SIZE)
inline constexpr int kWarpSize = __AMDGCN_WAVEFRONT_SIZE;
#else
inline constexpr int kWarpSize = 64;  // host pass of an AMD build: a placeholder, see above
#endif

// The narrowest and the widest warp of any GPU we build for. Size per-warp arrays in shared memory
// with the narrowest (a block of N threads has at most N / kMinWarpSize warps); size a grid that
// gives each warp one task with the widest (a narrower warp then leaves whole warps idle).
inline constexpr int kMinWarpSize = 32;
inline constexpr int kMaxWarpSize = 64;
inline constexpr int kMaxThreadsPerBlock = 1024;

// Shuffles: read `value` from another lane of the same warp. CUDA has only the *_sync versions,
// which take a mask of the participating lanes (32 bits); HIP 5 has only the plain versions (ROCm
// 6.2 added *_sync with a 64-bit mask). These wrappers assume that every lane of the warp takes
// part, so every thread of the warp must call them (no early return before a shuffle).
__device__ inline float shfl_xor(float value, int lane_mask) {
#if LLAMA4_GPU_NVIDIA
  return __shfl_xor_sync(0xffffffffu, value, lane_mask);
#else
  return __shfl_xor(value, lane_mask);
#endif
}

__device__ inline float shfl_down(float value, unsigned int delta) {
#if LLAMA4_GPU_NVIDIA
  return __shfl_down_sync(0xffffffffu, value, delta);
#else
  return __shfl_down(value, delta);
#endif
}

__device__ inline float shfl(float value, int source_lane) {
#if LLAMA4_GPU_NVIDIA
  return __shfl_sync(0xffffffffu, value, source_lane);
#else
  return __shfl(value, source_lane);
#endif
}

// [excerpt block_sum]
// The sum of `value` over the warp, in lane 0 only (the other lanes hold partial sums). Each step
// halves the number of values still to add: lane i adds lane i + offset's value.
__device__ inline float warp_reduce_sum(float value) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) value += shfl_down(value, offset);
  return value;
}

// The sum of `value` over the warp, in every lane: the "butterfly". At each step lane i and lane
// i ^ mask swap values and both add, so after log2(kWarpSize) steps every lane holds the total.
// The two lanes add the same two numbers (a + b == b + a exactly), so all lanes agree bit for bit.
__device__ inline float warp_allreduce_sum(float value) {
  for (int mask = kWarpSize / 2; mask > 0; mask /= 2) value += shfl_xor(value, mask);
  return value;
}

// The sum of `value` over the whole block, returned to every thread. Each warp reduces its own
// values, lane 0 of each warp writes that partial sum to shared memory, and then every thread adds
// the partial sums in the same order, so all threads get the same bits and so does every run.
// Rules: every thread of the block calls it (threads with nothing to add pass 0), and blockDim.x is
// a multiple of the warp width (use 256). It may be called several times in one kernel.
__device__ inline float block_sum(float value) {
  __shared__ float warp_sums[kMaxThreadsPerBlock / kMinWarpSize];
  const int lane = static_cast<int>(threadIdx.x) % kWarpSize;
  const int warp = static_cast<int>(threadIdx.x) / kWarpSize;
  const int warps = static_cast<int>(blockDim.x) / kWarpSize;
  value = warp_reduce_sum(value);
  if (lane == 0) warp_sums[warp] = value;
  __syncthreads();
  float total = 0.0f;
  for (int w = 0; w < warps; ++w) total += warp_sums[w];
  __syncthreads();  // everyone has read warp_sums before a next call overwrites it
  return total;
}
// [end excerpt]

// bf16 <-> f32 by their bits (the formats are explained in common/tensors/bfloat16.hpp). bf16
// buffers cross kernel interfaces as std::uint16_t: HIP 5.2 has no __hip_bfloat16 type and CUDA's
// __nv_bfloat16 is a different type, but the 16 bits are the same everywhere. These match
// llama4::bfloat16_to_float and llama4::float_to_bfloat16 bit for bit.
__device__ inline float bf16_bits_to_float(std::uint16_t bits) {
  return __uint_as_float(static_cast<unsigned int>(bits) << 16);
}

__device__ inline std::uint16_t float_to_bf16_bits(float value) {
  const unsigned int bits = __float_as_uint(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {  // NaN: keep it a (quiet) NaN
    return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);
  }
  const unsigned int lowest_kept_bit = (bits >> 16) & 1u;  // round to nearest, ties to even
  return static_cast<std::uint16_t>((bits + 0x7fffu + lowest_kept_bit) >> 16);
}

}  // namespace llama4::gpu
