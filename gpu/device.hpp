// The GPU, seen from plain C++: is there one, what is it, and memory on it.
//
// This header has no hip or cuda types, so tests, benchmarks and chapter programs are ordinary
// g++ code on every backend. The functions are implemented in device.hip (AMD and NVIDIA builds)
// or in backend_off.cpp (GPU_BACKEND=off), where probe() says so and everything else throws.
//
// The GPU has its own memory. A DeviceBuffer<T> owns `size()` elements of it; upload() and
// download() copy between it and host memory. Kernels (gpu/convert.hpp, gpu/matmul.hpp, ...) take
// the device pointers that data() returns: those pointers are only valid on the GPU, never
// dereference one on the host.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/tensors/error.hpp"

namespace llama4::gpu {

// What probe() found. When `available` is false only `backend` and `reason` are meaningful.
struct DeviceInfo {
  bool available = false;
  std::string reason;   // why not available, e.g. "hipGetDeviceCount -> hipErrorNoDevice (...)"
  std::string backend;  // "amd", "nvidia" or "off": what this library was compiled for
  int index = 0;        // which device (the --device N of chapter 09)
  int device_count = 0;
  std::string name;         // "NVIDIA H100 80GB HBM3", "AMD Instinct MI250X", ...
  std::string arch;         // "sm_90", "gfx90a:sramecc+:xnack-", ...
  int warp_size = 0;        // 32 (NVIDIA, AMD RDNA) or 64 (AMD CDNA): ask, never assume
  int multiprocessors = 0;  // streaming multiprocessors (NVIDIA) / compute units (AMD)
  int max_threads_per_block = 0;
  std::size_t shared_memory_per_block = 0;  // bytes
  std::size_t global_memory = 0;            // bytes
  std::size_t l2_cache = 0;                 // bytes
  int memory_bus_width = 0;                 // bits
  int clock_mhz = 0;                        // peak shader clock
  int memory_clock_mhz = 0;
};

// Looks for GPU `index` and describes it. Never throws: with no GPU, no driver or GPU_BACKEND=off
// it returns available = false and the reason. The first call starts the GPU runtime.
DeviceInfo probe(int index = 0);

// One line for a person, "nvidia: device 0 of 1, NVIDIA H100 80GB HBM3 (sm_90), 132
// multiprocessors, warp 32, 79.1 GiB, 1980 MHz", or "no usable GPU: <reason>".
std::string describe(const DeviceInfo& device);

// Makes device `index` the one later allocations and kernels use (default 0).
void select_device(int index);

// Waits until every kernel launched so far has finished, and reports any error one of them hit.
// Kernels run asynchronously: a launch returns at once, and a fault shows up at the next
// synchronising call (this, or a download).
void synchronize();

// Raw device memory. DeviceBuffer uses these; kernels never need them.
void* device_allocate(std::size_t bytes);
void device_free(void* pointer) noexcept;  // ignores failures: it runs in destructors
void copy_to_device(void* device_destination, const void* host_source, std::size_t bytes);
void copy_to_host(void* host_destination, const void* device_source, std::size_t bytes);
// Device -> device, and zeroing device memory. Queued like kernels: they return before they finish.
void copy_on_device(void* device_destination, const void* device_source, std::size_t bytes);
void clear_device_memory(void* device_destination, std::size_t bytes);

// Throws llama4::Error: "<call> failed at <file>:<line>: <error name> (<error text>)".
[[noreturn]] void fail_call(int status, const char* call, const char* file, int line);

// LLAMA4_GPU_CHECK(hipMalloc(&pointer, bytes)) runs the runtime call and throws, naming the call,
// the file and the line, unless it returned success. Every hip* call in a .hip file goes through
// it. (Success is 0 in both runtimes; the status is passed on as an int to keep this header free of
// hip types.)
#define LLAMA4_GPU_CHECK(call)                                                \
  do {                                                                        \
    const int llama4_gpu_status = static_cast<int>(call);                     \
    if (llama4_gpu_status != 0) {                                             \
      ::llama4::gpu::fail_call(llama4_gpu_status, #call, __FILE__, __LINE__); \
    }                                                                         \
  } while (false)

// `size` elements of T in GPU memory, freed when the buffer goes away. Move-only: two owners
// of one allocation would free it twice. T must be a plain value type (float, bfloat16, int32_t).
template <class T>
class DeviceBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "DeviceBuffer holds plain values only");

 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t size)
      : data_(static_cast<T*>(size == 0 ? nullptr : device_allocate(size * sizeof(T)))),
        size_(size) {}
  // A buffer holding a copy of `values`.
  explicit DeviceBuffer(std::span<const T> values) : DeviceBuffer(values.size()) { upload(values); }
  explicit DeviceBuffer(const std::vector<T>& values) : DeviceBuffer(std::span<const T>(values)) {}

  ~DeviceBuffer() { device_free(data_); }
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      device_free(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  // Device pointers: pass them to kernels, never dereference them here.
  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t bytes() const { return size_ * sizeof(T); }

  // Host -> device. The sizes must match exactly.
  void upload(std::span<const T> values) {
    check_size(values.size(), "upload");
    if (size_ != 0) copy_to_device(data_, values.data(), bytes());
  }
  // Device -> host. Waits for the kernels that write this buffer to finish first.
  void download(std::span<T> values) const {
    check_size(values.size(), "download");
    if (size_ != 0) copy_to_host(values.data(), data_, bytes());
  }
  std::vector<T> to_host() const {
    std::vector<T> values(size_);
    download(values);
    return values;
  }

 private:
  void check_size(std::size_t host_size, const char* what) const {
    if (host_size != size_) {
      fail("DeviceBuffer::", what, ": the device buffer has ", size_, " elements, the host one ",
           host_size);
    }
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace llama4::gpu
