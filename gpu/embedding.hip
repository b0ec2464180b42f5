// The embedding gather: one thread per output element.
#include "gpu/embedding.hpp"

#include "gpu/device.hpp"
#include "gpu/hip_portable.hpp"
#include "gpu/launch.hpp"

namespace llama4::gpu {
namespace {

// ids: [T] int32, table: [vocab, H] bf16 bits, x: [T, H] f32. Grid (ceil(H / 256), T).
//
// Block (b, t) copies 256 neighbouring elements of row ids[t]: the reads of one block are
// contiguous (coalesced), and so are its writes. The ids were checked on the host; the test here
// only keeps a bad id that slipped through from reading outside the table.
__global__ void embed_tokens_kernel(const std::int32_t* ids, const std::uint16_t* table, float* x,
                                    std::int64_t vocab, std::int64_t hidden) {
  const std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t t = blockIdx.y;
  if (i >= hidden) return;
  const std::int64_t id = ids[t];
  x[t * hidden + i] = (id >= 0 && id < vocab) ? bf16_bits_to_float(table[id * hidden + i]) : 0.0f;
}

}  // namespace

void embed_tokens(std::span<const std::int32_t> ids, std::int32_t* ids_on_device,
                  const bfloat16* table, float* x, std::int64_t vocab, std::int64_t hidden) {
  check_token_ids(ids, vocab);  // before the launch: a kernel cannot report a bad id
  if (ids.empty() || hidden == 0) return;
  copy_to_device(ids_on_device, ids.data(), ids.size_bytes());
  const auto tokens = static_cast<std::int64_t>(ids.size());
  const dim3 grid(blocks_for(hidden, kThreadsPerBlock, "embed_tokens"),
                  grid_rows(tokens, "embed_tokens"));
  embed_tokens_kernel<<<grid, kThreadsPerBlock>>>(ids_on_device, as_bits(table), x, vocab, hidden);
  LLAMA4_GPU_CHECK(hipGetLastError());
}

}  // namespace llama4::gpu
