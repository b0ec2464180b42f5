#include "common/program/thread_count.hpp"

#include <omp.h>

#include "common/tensors/error.hpp"

namespace llama4 {

void set_thread_count(std::int64_t threads) {
  if (threads < 0 || threads > kMaxThreads) {
    fail("the thread count must be between 1 and ", kMaxThreads, " (or 0 for every core), got ",
         threads);
  }
  if (threads > 0) omp_set_num_threads(static_cast<int>(threads));
}

}  // namespace llama4
