// Attention kernels: the KV-cache write (one thread per element) and the attention itself (one
// block per query head of one token).
#include "gpu/attention.hpp"

#include <cmath>

#include "common/tensors/error.hpp"
#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#include "gpu/launch.hpp"

namespace llama4::gpu {
namespace {

// Shared memory a block may use on every GPU we build for without asking for more (48 KiB on
// NVIDIA without an opt-in, 64 KiB on AMD).
constexpr std::size_t kSharedMemoryEveryGpuHas = 48 * 1024;

// The cache slot of a position: the CPU's LayerKVCache::slot_of.
__device__ inline std::int64_t slot_of(std::int64_t position, std::int64_t chunk_size) {
  return chunk_size > 0 ? position % chunk_size : position;
}

// k, v: [tokens, row_size] f32, keys, values: [slots, row_size] f32. Grid (ceil(row_size / 256),
// tokens): block (b, t) copies 256 neighbouring numbers of token t's key row and value row.
__global__ void kv_cache_write_kernel(const float* k, const float* v, float* keys, float* values,
                                      std::int64_t row_size, std::int64_t start_position,
                                      std::int64_t chunk_size) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t t = blockIdx.y;
  if (i >= row_size) return;
  const std::int64_t slot = slot_of(start_position + t, chunk_size);
  keys[slot * row_size + i] = k[t * row_size + i];
  values[slot * row_size + i] = v[t * row_size + i];
}

// The largest `value` over the whole block, returned to every thread: block_sum's pattern (see
// gpu/hip_portable.hpp) with max in place of +. Every thread of the block must call it.
__device__ float block_max(float value) {
  __shared__ float warp_maxima[kMaxThreadsPerBlock / kMinWarpSize];
  const int lane = static_cast<int>(threadIdx.x) % kWarpSize;
  const int warp = static_cast<int>(threadIdx.x) / kWarpSize;
  const int warps = static_cast<int>(blockDim.x) / kWarpSize;
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2)
    value = fmaxf(value, shfl_down(value, offset));
  if (lane == 0) warp_maxima[warp] = value;
  __syncthreads();
  float maximum = warp_maxima[0];
  for (int w = 1; w < warps; ++w) maximum = fmaxf(maximum, warp_maxima[w]);
  __syncthreads();  // everyone has read warp_maxima before a next call overwrites it
  return maximum;
}

// q·k over head_dim numbers, added in order d = 0, 1, 2, ... as the CPU does.
__device__ inline float dot(const float* query, const float* key, std::int64_t head_dim) {
  float sum = 0.0f;
  for (std::int64_t d = 0; d < head_dim; ++d) sum += query[d] * key[d];
  return sum;
}

// q: [tokens, heads, D], keys, values: [slots, kv_heads, D], context: [tokens, heads, D], all f32.
// Grid (heads, tokens): block (h, t) computes context[t, h, :] for query head h of token t.
// Dynamic shared memory: query [D], context accumulator [D], probabilities [blockDim.x].
//
// The softmax needs the largest score before it can exponentiate anything (exp(s - max) never
// overflows), and the visible keys can be far more than fit in shared memory (a global layer sees
// the whole context). So the block walks over the keys twice, one key per thread at a time:
//   pass 1: every thread scores its keys (j = thread, thread + 256, ...) and keeps its largest;
//           block_max gives the maximum score;
//   pass 2: in tiles of 256 keys: thread j scores key j again and stores p_j = exp(s_j - max) in
//           shared memory; the block adds the p_j to the running total (block_sum), and thread d
//           adds Σ_j p_j · v_j[d] over the tile to its context number d.
// At the end context = Σ_j p_j · v_j / Σ_j p_j: the CPU's softmax-weighted sum, computed in another
// order. (One pass is possible too, rescaling the running sums whenever the maximum grows: that is
// the idea of FlashAttention, left as an exercise in chapters/09_hip/README.md.)
__global__ void attention_kernel(const float* q, const float* keys, const float* values,
                                 float* context, std::int64_t heads, std::int64_t kv_heads,
                                 std::int64_t head_dim, std::int64_t start_position,
                                 std::int64_t chunk_size, float scale) {
  extern __shared__ float shared[];
  float* query = shared;                         // [D]
  float* accumulator = shared + head_dim;        // [D]
  float* probabilities = shared + 2 * head_dim;  // [blockDim.x]

  const std::int64_t h = blockIdx.x;
  const std::int64_t t = blockIdx.y;
  const std::int64_t position = start_position + t;
  // The mask: the visible keys are first .. position.
  const std::int64_t first = chunk_size > 0 ? (position / chunk_size) * chunk_size : 0;
  const std::int64_t count = position - first + 1;
  const std::int64_t g = h / (heads / kv_heads);  // the kv head this query head shares
  const std::int64_t row = kv_heads * head_dim;   // one position's keys, all kv heads
  // Keys first .. position sit in consecutive slots: the range starts at a chunk boundary (slot 0
  // of the ring) or at 0, so it never wraps around. Key j of the range is at key_rows + j * row.
  const float* key_rows = keys + slot_of(first, chunk_size) * row + g * head_dim;
  const float* value_rows = values + slot_of(first, chunk_size) * row + g * head_dim;

  for (std::int64_t d = threadIdx.x; d < head_dim; d += blockDim.x) {
    query[d] = q[(t * heads + h) * head_dim + d];
    accumulator[d] = 0.0f;
  }
  __syncthreads();  // the whole query is in shared memory before anyone reads it

  // Pass 1: the largest score.
  float largest = -INFINITY;
  for (std::int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    largest = fmaxf(largest, dot(query, key_rows + j * row, head_dim) * scale);
  }
  const float maximum = block_max(largest);

  // Pass 2: exponentials, their total, and the weighted sum of the values, one tile at a time.
  float total = 0.0f;
  for (std::int64_t tile = 0; tile < count; tile += blockDim.x) {
    const std::int64_t j = tile + threadIdx.x;
    const float p =
        j < count ? expf(dot(query, key_rows + j * row, head_dim) * scale - maximum) : 0.0f;
    probabilities[threadIdx.x] = p;
    total += block_sum(p);  // its barriers also make every probabilities[] write visible
    const std::int64_t keys_in_tile = count - tile < blockDim.x ? count - tile : blockDim.x;
    for (std::int64_t d = threadIdx.x; d < head_dim; d += blockDim.x) {
      float sum = accumulator[d];  // thread d always owns number d: no other thread touches it
      for (std::int64_t k = 0; k < keys_in_tile; ++k)
        sum += probabilities[k] * value_rows[(tile + k) * row + d];
      accumulator[d] = sum;
    }
    __syncthreads();  // everyone is done with probabilities[] before the next tile overwrites it
  }

  for (std::int64_t d = threadIdx.x; d < head_dim; d += blockDim.x) {
    context[(t * heads + h) * head_dim + d] = accumulator[d] / total;
  }
}

}  // namespace

void kv_cache_write(const float* k, const float* v, float* keys, float* values, std::int64_t tokens,
                    std::int64_t row_size, std::int64_t start_position, std::int64_t chunk_size) {
  if (tokens == 0 || row_size == 0) return;  // a launch with zero blocks is an error
  const dim3 grid(blocks_for(row_size, kThreadsPerBlock, "kv_cache_write"),
                  grid_rows(tokens, "kv_cache_write"));
  kv_cache_write_kernel<<<grid, kThreadsPerBlock>>>(k, v, keys, values, row_size, start_position,
                                                    chunk_size);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

void attention(const float* q, const float* keys, const float* values, float* context,
               std::int64_t tokens, std::int64_t heads, std::int64_t kv_heads,
               std::int64_t head_dim, std::int64_t start_position, std::int64_t chunk_size) {
  if (kv_heads <= 0 || heads % kv_heads != 0) {
    fail("attention: ", heads, " query heads cannot share ", kv_heads, " key/value heads evenly");
  }
  if (head_dim <= 0) fail("attention: head_dim must be positive, got ", head_dim);
  if (tokens == 0 || heads == 0) return;
  const std::size_t shared_bytes =
      static_cast<std::size_t>(2 * head_dim + kThreadsPerBlock) * sizeof(float);
  if (shared_bytes > kSharedMemoryEveryGpuHas) {
    fail("attention: head_dim ", head_dim, " needs ", shared_bytes,
         " bytes of shared memory per block, more than ", kSharedMemoryEveryGpuHas);
  }
  const float scale =
      1.0f / std::sqrt(static_cast<float>(head_dim));  // the CPU's, computed on the host
  const dim3 grid(blocks_for(heads, 1, "attention"), grid_rows(tokens, "attention"));
  attention_kernel<<<grid, kThreadsPerBlock, shared_bytes>>>(
      q, keys, values, context, heads, kv_heads, head_dim, start_position, chunk_size, scale);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

}  // namespace llama4::gpu
