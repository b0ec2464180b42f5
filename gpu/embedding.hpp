// Token embedding on the GPU: the twin of common/layers/embedding.hpp (embed_tokens).
//
// Row t of the output is row ids[t] of the bf16 table, widened to f32. The ids are checked on the
// host before anything is launched: a kernel cannot throw, and an id past the end of the table
// would read memory that is not the table's (on a GPU that is a crash at best, garbage at worst).
#pragma once

#include <cstdint>
#include <span>

#include "common/tensors/bfloat16.hpp"
#include "common/tensors/error.hpp"

namespace llama4::gpu {

// Fails, naming the id and its position like the CPU's embed_tokens, when an id is outside
// [0, vocab). Host memory.
inline void check_token_ids(std::span<const std::int32_t> ids, std::int64_t vocab) {
  for (std::size_t t = 0; t < ids.size(); ++t) {
    if (ids[t] < 0 || ids[t] >= vocab) {
      fail("token id ", ids[t], " at position ", t, " is outside the vocabulary (", vocab,
           " rows)");
    }
  }
}

// x: [T, H] f32 (device), row t = table[ids[t]]; table: [vocab, H] bf16 (device). `ids` are on the
// host: they are checked (check_token_ids), then copied into ids_on_device ([>= T] int32, device
// scratch), which the kernel reads. Returns once the kernel is queued.
void embed_tokens(std::span<const std::int32_t> ids, std::int32_t* ids_on_device,
                  const bfloat16* table, float* x, std::int64_t vocab, std::int64_t hidden);

}  // namespace llama4::gpu
