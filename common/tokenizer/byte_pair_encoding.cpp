#include "common/tokenizer/byte_pair_encoding.hpp"

#include <algorithm>
#include <limits>
#include <queue>

namespace llama4 {
namespace {

constexpr std::int32_t kNoRank = std::numeric_limits<std::int32_t>::max();

// Pieces up to this many bytes use the quadratic scan, which has no allocations and wins on
// short inputs; longer ones the heap.
constexpr std::size_t kScanLimit = 128;

std::int32_t rank_of(const TokenVocabulary& vocabulary, std::string_view bytes) {
  const std::int32_t id = vocabulary.find(bytes);
  return id == TokenVocabulary::kNotFound ? kNoRank : id;
}

// tiktoken's loop. Part i covers piece[start[i], start[i+1]) and is token id[i]; rank[i] is the
// rank of part i merged with part i+1. `on_merge(i)` runs before part i absorbs part i+1. The
// arrays need piece.size() + 1 entries; returns the number of parts left.
template <class OnMerge>
std::size_t merge_by_scanning(const TokenVocabulary& vocabulary, std::string_view piece,
                              std::uint32_t* start, std::int32_t* id, std::int32_t* rank,
                              OnMerge&& on_merge) {
  std::size_t parts = piece.size();
  for (std::size_t i = 0; i <= parts; ++i) start[i] = static_cast<std::uint32_t>(i);
  for (std::size_t i = 0; i < parts; ++i) {
    id[i] = vocabulary.byte_id(static_cast<unsigned char>(piece[i]));
  }
  const auto pair_rank = [&](std::size_t i) {  // rank of parts i and i+1 together
    if (i + 2 > parts) return kNoRank;
    return rank_of(vocabulary, piece.substr(start[i], start[i + 2] - start[i]));
  };
  for (std::size_t i = 0; i < parts; ++i) rank[i] = pair_rank(i);
  while (parts > 1) {
    std::size_t best = 0;
    for (std::size_t i = 1; i + 1 < parts; ++i) {
      if (rank[i] < rank[best]) best = i;  // strict: the leftmost of equal ranks wins
    }
    if (rank[best] == kNoRank) break;
    on_merge(best);
    // Part best absorbs part best+1 and becomes the token whose rank won (rank = id). Drop
    // boundary best+1, then rescore the two pairs that changed.
    id[best] = rank[best];
    std::copy(start + best + 2, start + parts + 1, start + best + 1);
    std::copy(id + best + 2, id + parts, id + best + 1);
    std::copy(rank + best + 2, rank + parts, rank + best + 1);
    --parts;
    rank[best] = pair_rank(best);
    if (best > 0) rank[best - 1] = pair_rank(best - 1);
  }
  return parts;
}

}  // namespace

std::vector<std::int32_t> byte_pair_merge_by_scanning(const TokenVocabulary& vocabulary,
                                                      std::string_view piece) {
  std::vector<std::uint32_t> start(piece.size() + 1);
  std::vector<std::int32_t> id(piece.size() + 1), rank(piece.size() + 1);
  const std::size_t parts = merge_by_scanning(vocabulary, piece, start.data(), id.data(),
                                              rank.data(), [](std::size_t) {});
  id.resize(parts);
  return id;
}

// The same merges with a priority queue of candidate pairs, ordered by (rank, position) so ties
// go to the leftmost pair exactly as in the scan. Parts form a linked list over byte positions.
// A merge makes some queued pairs stale (a part they name is gone or has grown); those are
// recognised when they reach the top, by checking the pair still spans the same bytes.
std::vector<std::int32_t> byte_pair_merge_with_heap(const TokenVocabulary& vocabulary,
                                                    std::string_view piece) {
  const std::size_t n = piece.size();
  // Part starting at byte p ends at next[p]; prev[p] is the start of the part before it.
  std::vector<std::uint32_t> next(n), prev(n);
  std::vector<std::int32_t> id(n);  // the token of the part starting at byte p
  std::vector<bool> alive(n, true);
  for (std::size_t p = 0; p < n; ++p) {
    next[p] = static_cast<std::uint32_t>(p + 1);
    prev[p] = static_cast<std::uint32_t>(p == 0 ? 0 : p - 1);
    id[p] = vocabulary.byte_id(static_cast<unsigned char>(piece[p]));
  }
  struct Candidate {
    std::int32_t rank;
    std::uint32_t left;  // start of the left part
    std::uint32_t end;   // end of the right part
    bool operator>(const Candidate& other) const {
      return rank != other.rank ? rank > other.rank : left > other.left;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  const auto push_pair = [&](std::uint32_t left) {
    if (next[left] >= n) return;  // no part to the right
    const std::uint32_t end = next[next[left]];
    const std::int32_t rank = rank_of(vocabulary, piece.substr(left, end - left));
    if (rank != kNoRank) queue.push({rank, left, end});
  };
  for (std::uint32_t p = 0; p + 1 < n; ++p) push_pair(p);

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    const std::uint32_t right = next[top.left];
    if (!alive[top.left] || right >= n || next[right] != top.end) continue;  // stale
    alive[right] = false;
    next[top.left] = top.end;
    id[top.left] = top.rank;
    if (top.end < n) prev[top.end] = top.left;
    push_pair(top.left);
    if (top.left > 0) push_pair(prev[top.left]);
  }
  std::vector<std::int32_t> ids;
  for (std::uint32_t p = 0; p < n; p = next[p]) ids.push_back(id[p]);
  return ids;
}

void byte_pair_encode(const TokenVocabulary& vocabulary, std::string_view piece,
                      std::vector<std::int32_t>& ids) {
  if (piece.size() == 1) {
    ids.push_back(vocabulary.byte_id(static_cast<unsigned char>(piece[0])));
    return;
  }
  if (piece.size() > kScanLimit) {
    const std::vector<std::int32_t> merged = byte_pair_merge_with_heap(vocabulary, piece);
    ids.insert(ids.end(), merged.begin(), merged.end());
    return;
  }
  std::uint32_t start[kScanLimit + 1];
  std::int32_t id[kScanLimit + 1];
  std::int32_t rank[kScanLimit + 1];
  const std::size_t parts =
      merge_by_scanning(vocabulary, piece, start, id, rank, [](std::size_t) {});
  ids.insert(ids.end(), id, id + parts);
}

std::vector<MergeStep> byte_pair_merge_steps(const TokenVocabulary& vocabulary,
                                             std::string_view piece) {
  std::vector<MergeStep> steps;
  if (piece.size() < 2) return steps;
  std::vector<std::uint32_t> start(piece.size() + 1);
  std::vector<std::int32_t> id(piece.size() + 1), rank(piece.size() + 1);
  merge_by_scanning(vocabulary, piece, start.data(), id.data(), rank.data(), [&](std::size_t i) {
    steps.push_back({std::string(piece.substr(start[i], start[i + 1] - start[i])),
                     std::string(piece.substr(start[i + 1], start[i + 2] - start[i + 1])),
                     rank[i]});
  });
  return steps;
}

}  // namespace llama4
