// Finding the GPU and managing its memory: the runtime calls behind gpu/device.hpp.
#include "gpu/device.hpp"

#include <string>

#include "gpu/hip_portable.hpp"

namespace llama4::gpu {
namespace {

constexpr const char* kBackend = LLAMA4_GPU_NVIDIA ? "nvidia" : "amd";

// "cudaErrorNoDevice (no CUDA-capable device is detected)". (HIP 5 describes its errors by their
// names only, so the name is not repeated.)
std::string error_text(hipError_t status) {
  const std::string name = hipGetErrorName(status);
  const std::string description = hipGetErrorString(status);
  return description == name ? name : name + " (" + description + ")";
}

// An attribute, or 0 when the runtime does not know it (so probe() never throws).
int attribute(hipDeviceAttribute_t which, int index) {
  int value = 0;
  if (hipDeviceGetAttribute(&value, which, index) != hipSuccess) {
    (void)hipGetLastError();
    return 0;
  }
  return value;
}

}  // namespace

DeviceInfo probe(int index) {
  DeviceInfo info;
  info.backend = kBackend;
  info.index = index;
  // The first runtime call. Without a GPU it fails: hipErrorNoDevice on AMD, or on NVIDIA
  // cudaErrorNoDevice, or cudaErrorInsufficientDriver when there is no driver (or one older than
  // the CUDA runtime we were built with). Any failure, or zero devices, means "no GPU".
  int count = 0;
  const hipError_t status = hipGetDeviceCount(&count);
  if (status != hipSuccess) {
    (void)hipGetLastError();  // clear it, so it does not resurface in a later call
    info.reason = std::string(kBackend) + ": hipGetDeviceCount -> " + error_text(status);
    return info;
  }
  info.device_count = count;
  if (count == 0) {
    info.reason = std::string(kBackend) + ": the runtime sees no GPU";
    return info;
  }
  if (index < 0 || index >= count) {
    info.reason = std::string(kBackend) + ": there is no device " + std::to_string(index) +
                  " (devices: " + std::to_string(count) + ")";
    return info;
  }

  hipDeviceProp_t properties{};
  const hipError_t properties_status = hipGetDeviceProperties(&properties, index);
  if (properties_status != hipSuccess) {
    (void)hipGetLastError();
    info.reason =
        std::string(kBackend) + ": hipGetDeviceProperties -> " + error_text(properties_status);
    return info;
  }
  info.available = true;
  info.name = properties.name;
#if LLAMA4_GPU_AMD
  info.arch = properties.gcnArchName;
#else
  info.arch = "sm_" + std::to_string(properties.major) + std::to_string(properties.minor);
#endif
  info.warp_size = properties.warpSize;
  info.multiprocessors = properties.multiProcessorCount;
  info.max_threads_per_block = properties.maxThreadsPerBlock;
  info.shared_memory_per_block = properties.sharedMemPerBlock;
  info.global_memory = properties.totalGlobalMem;
  info.l2_cache = static_cast<std::size_t>(properties.l2CacheSize);
  info.memory_bus_width = properties.memoryBusWidth;
  info.clock_mhz = attribute(hipDeviceAttributeClockRate, index) / 1000;  // reported in kHz
  info.memory_clock_mhz = attribute(hipDeviceAttributeMemoryClockRate, index) / 1000;
  return info;
}

void select_device(int index) {
  LLAMA4_GPU_CHECK(hipSetDevice(index));
}

void synchronize() {
  LLAMA4_GPU_CHECK(hipDeviceSynchronize());
}

void* device_allocate(std::size_t bytes) {
  void* pointer = nullptr;
  LLAMA4_GPU_CHECK(hipMalloc(&pointer, bytes));
  return pointer;
}

void device_free(void* pointer) noexcept {
  // A failure here (say, after a kernel fault) cannot be reported from a destructor, and the
  // memory goes back when the process ends anyway.
  if (pointer != nullptr && hipFree(pointer) != hipSuccess) (void)hipGetLastError();
}

void copy_to_device(void* device_destination, const void* host_source, std::size_t bytes) {
  LLAMA4_GPU_CHECK(hipMemcpy(device_destination, host_source, bytes, hipMemcpyHostToDevice));
}

void copy_to_host(void* host_destination, const void* device_source, std::size_t bytes) {
  LLAMA4_GPU_CHECK(hipMemcpy(host_destination, device_source, bytes, hipMemcpyDeviceToHost));
}

void copy_on_device(void* device_destination, const void* device_source, std::size_t bytes) {
  LLAMA4_GPU_CHECK(
      hipMemcpyAsync(device_destination, device_source, bytes, hipMemcpyDeviceToDevice));
}

void clear_device_memory(void* device_destination, std::size_t bytes) {
  LLAMA4_GPU_CHECK(hipMemsetAsync(device_destination, 0, bytes));
}

void fail_call(int status, const char* call, const char* file, int line) {
  // The runtime also remembers the error; clear it, or the next hipGetLastError() (the check after
  // every kernel launch) would report it again against an innocent kernel.
  (void)hipGetLastError();
  fail(call, " failed at ", file, ":", line, ": ", error_text(static_cast<hipError_t>(status)));
}

}  // namespace llama4::gpu
