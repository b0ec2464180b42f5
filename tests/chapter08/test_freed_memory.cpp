// keep_freed_memory.hpp: activations freed by one layer stay with the process for the next, instead
// of being handed back to the kernel and faulted in again (14 % of a long prefill).
#include "common/program/keep_freed_memory.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#define LLAMA4_OWN_ALLOCATOR 1  // AddressSanitizer (GCC) replaces malloc
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LLAMA4_OWN_ALLOCATOR 1  // AddressSanitizer (clang)
#endif
#endif

namespace llama4 {
namespace {

// A 96 MiB block (above glibc's largest automatic mmap threshold, 32 MiB: by default it would be
// a mapping of its own, unmapped by free) is written, freed, and its pages are asked about.
TEST(FreedMemory, ALargeFreedBlockStaysResidentForTheNextLayer) {
#if !defined(__GLIBC__) || defined(LLAMA4_OWN_ALLOCATOR)
  GTEST_SKIP() << "keep_freed_memory_for_reuse only tunes glibc's allocator, not in use here";
#else
  keep_freed_memory_for_reuse();
  constexpr std::size_t kSize = std::size_t{96} << 20;
  void* block = std::malloc(kSize);
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kSize);
  const auto page_size = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  // A page well inside the block (not the allocator's header page).
  const std::uintptr_t page =
      (reinterpret_cast<std::uintptr_t>(block) + (1 << 20)) & ~(page_size - 1);
  std::free(block);
  unsigned char resident = 0;
  ASSERT_EQ(mincore(reinterpret_cast<void*>(page), page_size, &resident), 0)
      << "the freed block's pages were handed back to the kernel";
  EXPECT_EQ(resident & 1, 1) << "the freed block's pages are no longer in memory";
#endif
}

}  // namespace
}  // namespace llama4
