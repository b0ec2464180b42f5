// The GPU library when there is no GPU compiler (GPU_BACKEND=off): every function of the gpu/
// headers exists, so everything links, but probe() reports that there is no GPU and anything that
// would need one throws. The GPU tests see available = false and report skipped.
//
// When a kernel is added to gpu/, its wrapper gets a stub here.
#include <string>

#include "common/tensors/error.hpp"
#include "gpu/attention.hpp"
#include "gpu/attention_temperature.hpp"
#include "gpu/bandwidth.hpp"
#include "gpu/benchmark_support.hpp"
#include "gpu/convert.hpp"
#include "gpu/device.hpp"
#include "gpu/embedding.hpp"
#include "gpu/feed_forward.hpp"
#include "gpu/matmul.hpp"
#include "gpu/moe.hpp"
#include "gpu/quantized_matmul.hpp"
#include "gpu/reduce.hpp"
#include "gpu/residual.hpp"
#include "gpu/rms_norm.hpp"
#include "gpu/rope.hpp"
#include "gpu/sampler.hpp"

namespace llama4::gpu {
namespace {

constexpr const char* kWhy =
    "built with GPU_BACKEND=off (configure found no HIP or CUDA compiler, or was told off)";

[[noreturn]] void no_gpu(const char* function) {
  fail("gpu::", function, ": ", kWhy);
}

}  // namespace

DeviceInfo probe(int index) {
  DeviceInfo info;
  info.backend = "off";
  info.index = index;
  info.reason = kWhy;
  return info;
}

void select_device(int) {
  no_gpu("select_device");
}
void synchronize() {
  no_gpu("synchronize");
}
void* device_allocate(std::size_t) {
  no_gpu("device_allocate");
}
void device_free(void*) noexcept {}  // nothing was ever allocated
void copy_to_device(void*, const void*, std::size_t) {
  no_gpu("copy_to_device");
}
void copy_to_host(void*, const void*, std::size_t) {
  no_gpu("copy_to_host");
}
void copy_on_device(void*, const void*, std::size_t) {
  no_gpu("copy_on_device");
}
void clear_device_memory(void*, std::size_t) {
  no_gpu("clear_device_memory");
}

void fail_call(int status, const char* call, const char* file, int line) {
  fail(call, " failed at ", file, ":", line, ": status ", status);
}

void bf16_to_f32(const bfloat16*, float*, std::int64_t) {
  no_gpu("bf16_to_f32");
}
void f32_to_bf16(const float*, bfloat16*, std::int64_t) {
  no_gpu("f32_to_bf16");
}
void linear(const float*, const bfloat16*, float*, std::int64_t, std::int64_t, std::int64_t) {
  no_gpu("linear");
}
void matmul(const float*, const bfloat16*, float*, std::int64_t, std::int64_t, std::int64_t) {
  no_gpu("matmul");
}
void quantized_linear(const float*, const std::byte*, DType, float*, std::int64_t, std::int64_t,
                      std::int64_t) {
  no_gpu("quantized_linear");
}
void row_sum(const float*, float*, std::int64_t, std::int64_t) {
  no_gpu("row_sum");
}
void row_sum_per_warp(const float*, float*, std::int64_t, std::int64_t) {
  no_gpu("row_sum_per_warp");
}

// Chapter 09's model kernels. embed_tokens still checks its ids first: a bad id is the caller's
// error whatever the backend.
void embed_tokens(std::span<const std::int32_t> ids, std::int32_t*, const bfloat16*, float*,
                  std::int64_t vocab, std::int64_t) {
  check_token_ids(ids, vocab);
  no_gpu("embed_tokens");
}
void rms_norm(const float*, const bfloat16*, float*, std::int64_t, std::int64_t, float) {
  no_gpu("rms_norm");
}
void qk_norm(float*, std::int64_t, std::int64_t, float) {
  no_gpu("qk_norm");
}
void apply_rope(float*, std::int64_t, std::int64_t, std::int64_t, std::int64_t, const float*) {
  no_gpu("apply_rope");
}
void apply_attention_temperature(float*, std::int64_t, std::int64_t, std::int64_t, double, double) {
  no_gpu("apply_attention_temperature");
}
void kv_cache_write(const float*, const float*, float*, float*, std::int64_t, std::int64_t,
                    std::int64_t, std::int64_t) {
  no_gpu("kv_cache_write");
}
void attention(const float*, const float*, const float*, float*, std::int64_t, std::int64_t,
               std::int64_t, std::int64_t, std::int64_t, std::int64_t) {
  no_gpu("attention");
}
void swiglu(float*, const float*, std::int64_t) {
  no_gpu("swiglu");
}
void swiglu_fused(const float*, float*, std::int64_t, std::int64_t) {
  no_gpu("swiglu_fused");
}
void route_top_k(const float*, std::int32_t*, float*, std::int64_t, std::int64_t, std::int64_t) {
  no_gpu("route_top_k");
}
void gather_scaled_rows(const float*, const float*, const std::int32_t*, float*, std::int64_t,
                        std::int64_t, std::int64_t) {
  no_gpu("gather_scaled_rows");
}
void scatter_add_rows(const float*, const std::int32_t*, float*, std::int64_t, std::int64_t,
                      std::int64_t) {
  no_gpu("scatter_add_rows");
}
void add_into(float*, const float*, std::int64_t) {
  no_gpu("add_into");
}
void argmax_rows(const float*, std::int32_t*, std::int64_t, std::int64_t) {
  no_gpu("argmax_rows");
}
double read_bandwidth(const float*, std::int64_t, float*, int) {
  no_gpu("read_bandwidth");
}
double copy_bandwidth(float*, const float*, std::int64_t, int) {
  no_gpu("copy_bandwidth");
}
void fill_random(float*, std::int64_t, std::uint64_t, float) {
  no_gpu("fill_random");
}
void fill_random(bfloat16*, std::int64_t, std::uint64_t, float) {
  no_gpu("fill_random");
}
double milliseconds_per_run(const std::function<void(int)>&, int, int) {
  no_gpu("milliseconds_per_run");
}

}  // namespace llama4::gpu
