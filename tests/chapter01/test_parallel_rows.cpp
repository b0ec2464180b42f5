// parallel_rows (common/tensors/parallel_rows.hpp): every row exactly once, in chunks read front
// to back, and a slow thread's rows taken over by the others.
#include <gtest/gtest.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "common/tensors/parallel_rows.hpp"

namespace llama4 {
namespace {

// Runs parallel_rows on `threads` threads; returns, for each row, which thread did it (-1: none,
// -2: more than once). With `hold_thread_zero`, thread 0 holds on to the first chunk it takes
// until every other row is done (or ten seconds have passed), then goes on.
std::vector<int> who_did_each_row(std::int64_t rows, std::int64_t chunk, int threads,
                                  bool hold_thread_zero = false) {
  std::vector<std::atomic<int>> done_by(static_cast<std::size_t>(rows));
  for (auto& row : done_by) row = -1;
  std::atomic<std::int64_t> rows_done{0};
  std::atomic<bool> held{false};
  const int previous = omp_get_max_threads();
  omp_set_num_threads(threads);
  parallel_rows(rows, chunk, true, [&](std::int64_t first, std::int64_t last) {
    // One thread, or one chunk in all: a single call for every row.
    if (threads > 1 && rows > chunk) {
      EXPECT_LE(last - first, chunk);
    }
    const int self = omp_get_thread_num();
    if (hold_thread_zero && self == 0 && omp_get_num_threads() > 1 && !held.exchange(true)) {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (rows_done < rows - (last - first) && std::chrono::steady_clock::now() < give_up)
        std::this_thread::yield();
    }
    for (std::int64_t row = first; row < last; ++row) {
      int expected = -1;
      if (!done_by[row].compare_exchange_strong(expected, self)) done_by[row] = -2;
    }
    rows_done += last - first;
  });
  omp_set_num_threads(previous);
  return {done_by.begin(), done_by.end()};
}

TEST(ParallelRows, EveryRowIsDoneExactlyOnce) {
  for (const int threads : {1, 2, 3, 8}) {
    for (const std::int64_t rows : {0, 1, 2, 7, 64, 1000, 4099}) {
      for (const std::int64_t chunk : {1, 3, 16, 5000}) {
        const std::vector<int> done_by = who_did_each_row(rows, chunk, threads);
        for (std::int64_t row = 0; row < rows; ++row) {
          ASSERT_GE(done_by[row], 0)
              << "row " << row << (done_by[row] == -1 ? " never" : " twice") << " done; " << rows
              << " rows, chunks of " << chunk << ", " << threads << " threads";
        }
      }
    }
  }
}

// Thread 0 stalls in its first chunk: thread 1 does its own half, then takes thread 0's rows from
// the end of thread 0's share, all but the one chunk thread 0 holds.
TEST(ParallelRows, AFastThreadTakesOverTheRestOfASlowThreadsShare) {
  const std::int64_t rows = 64;
  const std::vector<int> done_by = who_did_each_row(rows, 1, 2, true);
  std::int64_t by_thread_one = 0;
  for (std::int64_t row = 0; row < rows; ++row) {
    ASSERT_GE(done_by[row], 0) << "row " << row;
    by_thread_one += done_by[row] == 1;
  }
  EXPECT_GE(by_thread_one, rows - 1) << "thread 1 did not take over thread 0's share";
}

TEST(ParallelRows, ChunksAreAbout128KibibytesOfWeights) {
  EXPECT_EQ(rows_per_chunk(4096), 32);  // a bf16 row of 2048
  EXPECT_EQ(rows_per_chunk(2176), 60);  // a Q8_0 row of 2048: 64 blocks of 34 bytes
  EXPECT_EQ(rows_per_chunk(1 << 20), 1);
  EXPECT_EQ(rows_per_chunk(0), 131072);
}

}  // namespace
}  // namespace llama4
