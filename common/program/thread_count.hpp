// How many CPU threads the matrix products and attention use (OpenMP).
#pragma once

#include <cstdint>

namespace llama4 {

inline constexpr std::int64_t kMaxThreads = 4096;

// 0: every core (OpenMP's default); 1..kMaxThreads: that many. Anything else is an Error: the
// count comes from a command line, and narrowing 4294967297 to an int would quietly give 1.
void set_thread_count(std::int64_t threads);

}  // namespace llama4
