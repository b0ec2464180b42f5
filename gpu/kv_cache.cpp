// The device KV cache's bookkeeping: plain C++, the same for every backend.
#include "gpu/kv_cache.hpp"

#include <algorithm>

#include "common/tensors/error.hpp"
#include "gpu/attention.hpp"

namespace llama4::gpu {
namespace {

// Checks the sizes (before anything is allocated) and returns the number of slots.
std::int64_t slot_count(std::int64_t kv_heads, std::int64_t head_dim, std::int64_t capacity,
                        std::optional<std::int64_t> chunk_size) {
  if (kv_heads <= 0 || head_dim <= 0 || capacity <= 0) fail("KV cache: sizes must be positive");
  if (chunk_size && *chunk_size <= 0) fail("KV cache: chunk size must be positive");
  return chunk_size ? std::min(capacity, *chunk_size) : capacity;
}

}  // namespace

DeviceKVCache::DeviceKVCache(std::int64_t kv_heads, std::int64_t head_dim, std::int64_t capacity,
                             std::optional<std::int64_t> chunk_size)
    : row_size_(kv_heads * head_dim),
      capacity_(capacity),
      chunk_size_(chunk_size),
      slots_(slot_count(kv_heads, head_dim, capacity, chunk_size)),
      keys_(static_cast<std::size_t>(slots_ * row_size_)),
      values_(static_cast<std::size_t>(slots_ * row_size_)) {}

void DeviceKVCache::append(const float* k, const float* v, std::int64_t tokens) {
  if (tokens <= 0) return;
  const std::int64_t first = next_position_;
  const std::int64_t last = next_position_ + tokens - 1;
  if (last >= capacity_) {
    fail("KV cache: position ", last, " is past the context length ", capacity_);
  }
  if (chunk_size_ && first / *chunk_size_ != last / *chunk_size_) {
    fail("KV cache: positions ", first, "..", last,
         " cross a chunk boundary; append them chunk by chunk");
  }
  kv_cache_write(k, v, keys_.data(), values_.data(), tokens, row_size_, first, chunk_size());
  next_position_ += tokens;
}

std::int64_t DeviceKVCache::first_visible(std::int64_t position) const {
  return chunk_size_ ? (position / *chunk_size_) * *chunk_size_ : 0;
}

}  // namespace llama4::gpu
