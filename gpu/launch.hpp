// Small helpers the kernel wrappers in gpu/*.hip share: the block size, grid sizes, and passing
// bf16 buffers to kernels. For .hip files (it is plain C++, but only launch code needs it).
#pragma once

#include <cstdint>

#include "common/tensors/bfloat16.hpp"
#include "common/tensors/error.hpp"

namespace llama4::gpu {

// Threads per block for the straightforward kernels. A multiple of every warp width (32 and 64),
// which block_sum() needs, and a size every GPU runs well enough.
inline constexpr int kThreadsPerBlock = 256;

// The largest grid.y a launch may have (both runtimes): kernels put the token rows there.
inline constexpr std::int64_t kMaxGridY = 65535;

// ceil(count / per_block): enough blocks that every element gets a thread.
inline unsigned int blocks_for(std::int64_t count, std::int64_t per_block, const char* kernel) {
  const std::int64_t blocks = (count + per_block - 1) / per_block;
  if (count < 0 || blocks > 0x7fffffff)
    fail(kernel, ": ", count, " elements is too many for one grid");
  return static_cast<unsigned int>(blocks);
}

// A row count that must fit in grid.y.
inline unsigned int grid_rows(std::int64_t rows, const char* kernel) {
  if (rows < 0 || rows > kMaxGridY)
    fail(kernel, ": ", rows, " rows is more than one grid takes (", kMaxGridY, ")");
  return static_cast<unsigned int>(rows);
}

// Kernels see bf16 as its 16 bits (see bf16_bits_to_float in hip_portable.hpp).
static_assert(sizeof(bfloat16) == sizeof(std::uint16_t));
inline const std::uint16_t* as_bits(const bfloat16* pointer) {
  return reinterpret_cast<const std::uint16_t*>(pointer);
}
inline std::uint16_t* as_bits(bfloat16* pointer) {
  return reinterpret_cast<std::uint16_t*>(pointer);
}

}  // namespace llama4::gpu
