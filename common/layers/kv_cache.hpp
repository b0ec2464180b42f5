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
//
// The layout is head-major: [kv_heads, slots, head_dim], so that one kv head's keys for positions
// first..last are one contiguous run of memory. Attention works one kv head at a time (each group
// of query heads shares one), and in decode its whole cost is reading that run. Position-major
// ([slots, kv_heads, head_dim], the order the projections produce) would make it read 512 bytes
// (Scout: 128 floats) out of every 4 KiB row, one slice per key, which the hardware prefetcher
// follows badly: decoding 600 tokens after a 128-token prompt (the 1b model in Q8_0) ran at 40.5
// tok/s with that layout and 49.8 with this one (bench/RESULTS.md, chapter 06).
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

  // Stores the key and value rows ([kv_heads, head_dim] each, as the projections make them) of
  // `position`, which must be next_position(): each kv head's slice goes to its own part of the
  // cache. A chunked cache overwrites the slot of a position from an earlier chunk.
  void append(std::int64_t position, const float* key, const float* value);

  // The first position a query at `position` may attend to: 0 for global layers, the start of the
  // query's chunk for chunked layers.
  std::int64_t first_visible(std::int64_t position) const;

  // kv head `head`'s keys (values) of positions first..last, contiguous: [last - first + 1,
  // head_dim]. They are contiguous because a query's visible range never wraps around the ring: it
  // starts at a chunk boundary, which is slot 0. All of first..last must still be in the cache.
  const float* keys(std::int64_t head, std::int64_t first, std::int64_t last) const;
  const float* values(std::int64_t head, std::int64_t first, std::int64_t last) const;

  std::int64_t next_position() const { return next_position_; }
  std::int64_t slots() const { return slots_; }
  std::size_t bytes() const { return (keys_.size() + values_.size()) * sizeof(float); }
  void clear() { next_position_ = 0; }

 private:
  std::int64_t slot_of(std::int64_t position) const;
  // The offset of `head`'s row for position `first`, once head and range are checked.
  std::int64_t offset_of(std::int64_t head, std::int64_t first, std::int64_t last) const;

  std::int64_t kv_heads_, head_dim_;
  std::int64_t capacity_;
  std::optional<std::int64_t> chunk_size_;
  std::int64_t slots_;
  std::int64_t next_position_ = 0;
  std::vector<float> keys_;    // [kv_heads, slots, head_dim]
  std::vector<float> values_;  // [kv_heads, slots, head_dim]
};

}  // namespace llama4
