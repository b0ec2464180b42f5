#include "common/program/freed_memory.hpp"

#include <cstdlib>  // defines __GLIBC__ where the C library is glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace llama4 {

void keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 256 << 20);  // blocks under 256 MiB come from the heap
  mallopt(M_TRIM_THRESHOLD, 1 << 30);    // and up to 1 GiB of freed heap stays with the process
#endif
}

}  // namespace llama4
