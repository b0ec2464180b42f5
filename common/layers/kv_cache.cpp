#include "common/layers/kv_cache.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>

#include "common/tensors/error.hpp"

namespace llama4 {

std::uint64_t LayerKVCache::bytes_needed(std::int64_t kv_heads, std::int64_t head_dim,
                                         std::int64_t capacity,
                                         std::optional<std::int64_t> chunk_size) {
  if (kv_heads <= 0 || head_dim <= 0 || capacity <= 0) fail("KV cache: sizes must be positive");
  if (chunk_size && *chunk_size <= 0) fail("KV cache: chunk size must be positive");
  const std::int64_t slots = chunk_size ? std::min(capacity, *chunk_size) : capacity;
  // keys and values: 2 x slots x kv_heads x head_dim floats. The sizes come from config.json and
  // --ctx, so the product is checked: unchecked, --ctx 576460752303423489 wrapped around to a
  // 32-float cache that later writes ran past.
  std::uint64_t bytes = 2 * sizeof(float);
  for (const std::int64_t size : {slots, kv_heads, head_dim}) {
    if (__builtin_mul_overflow(bytes, static_cast<std::uint64_t>(size), &bytes) ||
        bytes > static_cast<std::uint64_t>(PTRDIFF_MAX)) {
      fail("KV cache: ", slots, " positions of ", kv_heads, " x ", head_dim,
           " keys and values do not fit in memory (the byte count overflows)");
    }
  }
  return bytes;
}

LayerKVCache::LayerKVCache(std::int64_t kv_heads, std::int64_t head_dim, std::int64_t capacity,
                           std::optional<std::int64_t> chunk_size)
    : kv_heads_(kv_heads), head_dim_(head_dim), capacity_(capacity), chunk_size_(chunk_size) {
  const std::uint64_t bytes = bytes_needed(kv_heads, head_dim, capacity, chunk_size);
  slots_ = chunk_size ? std::min(capacity, *chunk_size) : capacity;
  // Cannot overflow: bytes_needed multiplied the same sizes without overflow.
  const auto count = static_cast<std::size_t>(kv_heads_ * slots_ * head_dim_);
  try {
    keys_.resize(count);
    values_.resize(count);
  } catch (const std::bad_alloc&) {
    fail("out of memory: a KV cache of ", slots_, " positions needs ", bytes, " bytes (",
         static_cast<double>(bytes) / 1e9, " GB) for one layer; use a shorter context (--ctx)");
  }
}

// [excerpt slot_of]
std::int64_t LayerKVCache::slot_of(std::int64_t position) const {
  return chunk_size_ ? position % *chunk_size_ : position;
}
// [end excerpt]

void LayerKVCache::append(std::int64_t position, const float* key, const float* value) {
  if (position != next_position_) {
    fail("KV cache: expected position ", next_position_, " next, got ", position);
  }
  if (position >= capacity_) {
    fail("KV cache: position ", position, " is past the context length ", capacity_);
  }
  const std::int64_t slot = slot_of(position);
  const auto row_bytes = static_cast<std::size_t>(head_dim_) * sizeof(float);
  for (std::int64_t head = 0; head < kv_heads_; ++head) {
    const std::int64_t at = (head * slots_ + slot) * head_dim_;  // [head, slot, :]
    std::memcpy(keys_.data() + at, key + head * head_dim_, row_bytes);
    std::memcpy(values_.data() + at, value + head * head_dim_, row_bytes);
  }
  ++next_position_;
}

// [excerpt first_visible]
std::int64_t LayerKVCache::first_visible(std::int64_t position) const {
  return chunk_size_ ? (position / *chunk_size_) * *chunk_size_ : 0;
}
// [end excerpt]

std::int64_t LayerKVCache::offset_of(std::int64_t head, std::int64_t first,
                                     std::int64_t last) const {
  if (head < 0 || head >= kv_heads_) {
    fail("KV cache: kv head ", head, " does not exist (there are ", kv_heads_, ")");
  }
  if (first < 0 || last < first || last >= next_position_ || first < next_position_ - slots_) {
    fail("KV cache: positions ", first, "..", last, " are not all in the cache (it holds ",
         std::max<std::int64_t>(0, next_position_ - slots_), "..", next_position_ - 1, ")");
  }
  if (slot_of(last) - slot_of(first) != last - first) {
    fail("KV cache: positions ", first, "..", last, " cross a chunk boundary");
  }
  return (head * slots_ + slot_of(first)) * head_dim_;
}

const float* LayerKVCache::keys(std::int64_t head, std::int64_t first, std::int64_t last) const {
  return keys_.data() + offset_of(head, first, last);
}

const float* LayerKVCache::values(std::int64_t head, std::int64_t first, std::int64_t last) const {
  return values_.data() + offset_of(head, first, last);
}

}  // namespace llama4
