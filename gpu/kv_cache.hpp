// The KV cache of one attention layer, in GPU memory: the twin of common/layers/kv_cache.hpp, with
// the same rules (read that first) and one difference, the layout:
//
//   keys, values: [slots, kv_heads, head_dim] f32 each (position-major; the CPU's is head-major)
//   global layer:  slots = context length, position p in slot p
//   chunked layer: slots = min(context length, chunk size C), a ring: position p in slot p mod C
//
// The CPU went head-major because a CPU core reads one kv head's keys as a stream, and streams are
// what its prefetcher serves. On the GPU many threads read a key's head_dim floats together, each
// 512-byte slice in one go wherever it lies, so the projections' own order is kept and written
// with one copy per position. Keys are stored after RoPE and QK norm, values as projected. The
// bookkeeping (which position comes next, what a query may see) is plain host code here; only the
// copy into the slots is a kernel (gpu::kv_cache_write in gpu/attention.hpp).
#pragma once

#include <cstdint>
#include <optional>

#include "gpu/device.hpp"

namespace llama4::gpu {

class DeviceKVCache {
 public:
  // capacity: the longest context this cache must serve. chunk_size: set for chunked layers.
  DeviceKVCache(std::int64_t kv_heads, std::int64_t head_dim, std::int64_t capacity,
                std::optional<std::int64_t> chunk_size);

  // Stores the keys and values k, v: [tokens, kv_heads, head_dim] (device) of positions
  // next_position() .. next_position() + tokens - 1. In a chunked cache they must not cross a chunk
  // boundary: the new chunk's keys would overwrite the old chunk's while its queries still need
  // them, so the attention works piece by piece (as the CPU's AttentionLayer::forward does).
  void append(const float* k, const float* v, std::int64_t tokens);

  // The first position a query at `position` may attend to: 0, or the start of its chunk.
  std::int64_t first_visible(std::int64_t position) const;

  // Device pointers to the whole arrays, [slots, kv_heads, head_dim].
  const float* keys() const { return keys_.data(); }
  const float* values() const { return values_.data(); }
  // 0 for a global layer, C for a chunked one (what gpu::attention takes).
  std::int64_t chunk_size() const { return chunk_size_.value_or(0); }

  std::int64_t next_position() const { return next_position_; }
  std::int64_t capacity() const { return capacity_; }
  std::int64_t slots() const { return slots_; }
  std::size_t bytes() const { return keys_.bytes() + values_.bytes(); }
  void clear() { next_position_ = 0; }  // the old contents are never read again: no need to erase

 private:
  std::int64_t row_size_;  // kv_heads * head_dim
  std::int64_t capacity_;
  std::optional<std::int64_t> chunk_size_;
  std::int64_t slots_;
  std::int64_t next_position_ = 0;
  DeviceBuffer<float> keys_;    // [slots, kv_heads, head_dim]
  DeviceBuffer<float> values_;  // [slots, kv_heads, head_dim]
};

}  // namespace llama4::gpu
