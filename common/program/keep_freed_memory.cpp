#include "common/program/keep_freed_memory.hpp"

#include <cstdlib>  // defines __GLIBC__ where the C library is glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace llama4 {

void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 1 << 30);  // allocate up to 1 GiB from the heap, not with mmap
  mallopt(M_TRIM_THRESHOLD, 1 << 30);  // and keep up to 1 GiB of freed heap
#endif
}

}  // namespace llama4
