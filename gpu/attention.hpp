// Attention on the GPU: writing keys and values into the device KV cache, and attending over it.
// The twins of LayerKVCache::append and AttentionLayer::attend in common/layers/kv_cache.hpp and
// common/layers/attention.hpp (read those first: the chunked mask and the ring cache are explained
// there).
//
// The cache of one layer is two device arrays, keys and values, each [slots, kv_heads, head_dim]
// f32 (position-major; the CPU's is head-major: gpu/kv_cache.hpp says why). Position p lives in
// slot p for a global layer and in slot p mod C for a chunked one (a ring of one chunk, C =
// chunk_size). gpu/kv_cache.hpp owns the arrays and the position bookkeeping; these functions are
// the kernels.
//
// Pointers are device memory; the functions return once the kernel is queued.
#pragma once

#include <cstdint>

namespace llama4::gpu {

// Copies k, v: [tokens, row_size] (row_size = kv_heads * head_dim) into the slots of positions
// start_position .. start_position + tokens - 1 of keys, values: [slots, row_size]. chunk_size > 0
// for a chunked layer's ring (slot = position mod chunk_size), 0 for a global layer (slot =
// position). The caller makes sure no two of the positions share a slot (gpu/kv_cache.hpp does).
void kv_cache_write(const float* k, const float* v, float* keys, float* values, std::int64_t tokens,
                    std::int64_t row_size, std::int64_t start_position, std::int64_t chunk_size);

// context: [tokens, heads * head_dim] = attention of q: [tokens, heads, head_dim] over the cache.
// Query row t sits at position start_position + t and sees the keys of positions
//   global (chunk_size == 0):  0 .. position
//   chunked:                   C·floor(position / C) .. position        (C = chunk_size)
// which must all be in the cache. Grouped-query: query head h reads kv head h / (heads / kv_heads).
// Scores are q·k / sqrt(head_dim), softmax over the visible keys, context = Σ_j p_j · v_j.
void attention(const float* q, const float* keys, const float* values, float* context,
               std::int64_t tokens, std::int64_t heads, std::int64_t kv_heads,
               std::int64_t head_dim, std::int64_t start_position, std::int64_t chunk_size);

}  // namespace llama4::gpu
