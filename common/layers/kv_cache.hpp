// The KV cache of one attention layer.
//
// Generating text one token at a time, each new token attends to the keys and values of every
// earlier token. Recomputing them at every step would redo the whole prompt each time, so each
// layer keeps them: this cache. Keys are stored AFTER RoPE and QK norm (they never change once a
// token has its position); values as projected. The attention temperature is applied to queries
// only and never reaches the cache.
//
// Llama 4 has two kinds of layers, and they need different caches:
//   - global (NoPE) layers attend to every earlier position: they keep everything, up to the
//     context length;
//   - chunked (RoPE) layers attend only within their chunk of attention_chunk_size positions
//     (8192 in Scout): positions [C·floor(p/C), p]. Once position p starts a new chunk, no later
//     query can see the previous chunk, so the cache only needs C slots, used as a ring: position p
//     lives in slot p mod C. For Scout's 10M-token context that is the difference between 36 layers
//     of 8192 slots and 36 layers of 10 million.
//
// Positions must arrive in order (0, 1, 2, ...), as prefill and decode produce them.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace llama4 {

class LayerKVCache {
 public:
  // capacity: the longest context this cache must serve. chunk_size: set for chunked layers.
  LayerKVCache(std::int64_t kv_heads, std::int64_t head_dim, std::int64_t capacity,
               std::optional<std::int64_t> chunk_size);

  // Bytes the keys and values of such a cache take; an Error if the sizes are not positive or the
  // count overflows. Nothing is allocated.
  static std::uint64_t bytes_needed(std::int64_t kv_heads, std::int64_t head_dim,
                                    std::int64_t capacity, std::optional<std::int64_t> chunk_size);

  // Stores the key and value rows ([kv_heads * head_dim] each) of `position`, which must be
  // next_position(). A chunked cache overwrites the slot of a position from an earlier chunk.
  void append(std::int64_t position, const float* key, const float* value);

  // The first position a query at `position` may attend to: 0 for global layers, the start of the
  // query's chunk for chunked layers.
  std::int64_t first_visible(std::int64_t position) const;

  // The key (value) rows of positions first..last, contiguous: [last - first + 1, kv_heads,
  // head_dim]. They are contiguous because a query's visible range never wraps around the ring: it
  // starts at a chunk boundary, which is slot 0. All of first..last must still be in the cache.
  const float* keys(std::int64_t first, std::int64_t last) const;
  const float* values(std::int64_t first, std::int64_t last) const;

  std::int64_t next_position() const { return next_position_; }
  std::int64_t slots() const { return slots_; }
  std::size_t bytes() const { return (keys_.size() + values_.size()) * sizeof(float); }
  void clear() { next_position_ = 0; }

 private:
  std::int64_t slot_of(std::int64_t position) const;
  void check_range(std::int64_t first, std::int64_t last) const;

  std::int64_t row_size_;  // kv_heads * head_dim
  std::int64_t capacity_;
  std::optional<std::int64_t> chunk_size_;
  std::int64_t slots_;
  std::int64_t next_position_ = 0;
  std::vector<float> keys_;    // [slots, kv_heads, head_dim]
  std::vector<float> values_;  // [slots, kv_heads, head_dim]
};

}  // namespace llama4
