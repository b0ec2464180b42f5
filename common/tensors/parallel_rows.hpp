// parallel_rows: a matrix-vector product's output rows shared among the threads, each thread on
// its own contiguous share, with the ends evened out by stealing.
//
// Decode reads each weight row once. The memory system serves a thread best when it walks one
// contiguous run front to back (the hardware prefetcher follows it), so the rows are split into
// one contiguous share per thread (OpenMP's schedule(static)), not dealt out in turns. But on a
// shared machine the threads do not run equally fast: one core's neighbour may be busy, and a
// thread that finishes its share early waits at the join for the other. Here a thread that has
// finished takes chunks from the END of the share with the most rows left, while its owner goes
// on from the front; they meet somewhere inside it. Every chunk is still read front to back.
//
//   share of thread 0: [ 0 ... owner -> ......... <- thieves ]   share of thread 1: [ ... ]
//
// Which thread runs a chunk depends on timing, so a chunk's results must not: here every output
// row is computed by one chunk alone, whole, and the results are the same run after run.
//
// Each share is one 64-bit atomic holding (next chunk, end chunk); the owner takes from `next`,
// a thief from `end`, each by compare-and-swap, so a chunk is taken exactly once.
#pragma once

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

namespace llama4 {

namespace parallel_rows_detail {

// (next, end) of one thread's share, counted in chunks; alone on its cache line.
struct alignas(64) Share {
  std::atomic<std::uint64_t> range{0};
};

inline std::uint64_t pack(std::uint32_t next, std::uint32_t end) {
  return (static_cast<std::uint64_t>(next) << 32) | end;
}

inline std::uint32_t next_of(std::uint64_t range) {
  return static_cast<std::uint32_t>(range >> 32);
}
inline std::uint32_t end_of(std::uint64_t range) {
  return static_cast<std::uint32_t>(range);
}
inline std::uint32_t chunks_left(std::uint64_t range) {
  return next_of(range) < end_of(range) ? end_of(range) - next_of(range) : 0;
}

// Takes one chunk from the front (the owner) or the back (a thief); -1 where none is left.
inline std::int64_t take(Share& share, bool from_front) {
  std::uint64_t range = share.range.load(std::memory_order_relaxed);
  for (;;) {
    const std::uint32_t next = next_of(range), end = end_of(range);
    if (next >= end) return -1;
    const std::uint64_t taken = from_front ? pack(next + 1, end) : pack(next, end - 1);
    if (share.range.compare_exchange_weak(range, taken, std::memory_order_relaxed))
      return from_front ? next : end - 1;
  }
}

}  // namespace parallel_rows_detail

// How many rows make a chunk: about 128 KiB of weights, so the ends even out to within a few
// microseconds (128 KiB at a thread's ~20 GB/s: 6 µs). Measured on the 1b model's decode, all
// formats switched token by token in one process: 32 KiB chunks were 4-6 % slower, 8 KiB slower
// still, 256 KiB the same, 512 KiB slower for Q4_0, whose 2.3 MB matrices then make few chunks.
inline std::int64_t rows_per_chunk(std::int64_t bytes_per_row) {
  return std::max<std::int64_t>(
      1, (std::int64_t{128} << 10) / std::max<std::int64_t>(1, bytes_per_row));
}

// Calls body(first_row, last_row) for chunks of `chunk_rows` rows covering [0, rows), on the
// threads of one parallel region (on the calling thread alone if `parallel` is false). Fewer than
// 2^32 chunks: a matrix of more rows than that would not fit in memory anyway.
template <class Body>
void parallel_rows(std::int64_t rows, std::int64_t chunk_rows, bool parallel, const Body& body) {
  using namespace parallel_rows_detail;
  const std::int64_t chunks = (rows + chunk_rows - 1) / chunk_rows;
  const int threads = parallel ? omp_get_max_threads() : 1;
  if (threads == 1 || chunks < 2) {
    if (rows > 0) body(0, rows);
    return;
  }
  std::vector<Share> shares(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    shares[t].range = pack(static_cast<std::uint32_t>(chunks * t / threads),
                           static_cast<std::uint32_t>(chunks * (t + 1) / threads));
  }
  const auto run = [&](std::int64_t chunk) {
    body(chunk * chunk_rows, std::min(rows, (chunk + 1) * chunk_rows));
  };
#pragma omp parallel num_threads(threads)
  {
    // OpenMP may start fewer threads than asked: a share nobody owns is taken by the thieves.
    const int self = omp_get_thread_num();
    for (std::int64_t chunk; (chunk = take(shares[self], true)) >= 0;) run(chunk);
    for (;;) {
      int victim = -1;  // the share with the most chunks left
      std::uint32_t most = 0;
      for (int t = 0; t < threads; ++t) {
        const std::uint32_t left = chunks_left(shares[t].range.load(std::memory_order_relaxed));
        if (left > most) most = left, victim = t;
      }
      if (victim < 0) break;
      const std::int64_t chunk = take(shares[victim], false);
      if (chunk >= 0) run(chunk);
    }
  }
}

}  // namespace llama4
