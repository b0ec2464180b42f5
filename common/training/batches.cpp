#include "common/training/batches.hpp"

#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

// splitmix64's finaliser over a combination of three numbers: a well-mixed 64-bit hash.
std::uint64_t hash(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t z = a * 0x9e3779b97f4a7c15ull ^
                    (b + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull ^
                    (c + 0x2545f4914f6cdd1dull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void check_length(std::span<const std::int32_t> ids, std::int64_t tokens, const char* what) {
  if (tokens < 1) fail(what, ": sequences of ", tokens, " tokens");
  if (static_cast<std::int64_t>(ids.size()) < tokens) {
    fail(what, ": the text has ", ids.size(), " tokens, fewer than one sequence of ", tokens,
         "; use a longer text or a shorter --sequence");
  }
}

}  // namespace

BatchSampler::BatchSampler(std::span<const std::int32_t> ids, std::int32_t bos_id,
                           std::int64_t sequences, std::int64_t tokens, std::uint64_t seed)
    : ids_(ids), bos_id_(bos_id), sequences_(sequences), tokens_(tokens), seed_(seed) {
  if (sequences < 1) fail("training text: a batch of ", sequences, " sequences");
  check_length(ids, tokens, "training text");
}

std::vector<std::int32_t> BatchSampler::batch(std::int64_t step) const {
  const auto starts =
      static_cast<std::uint64_t>(static_cast<std::int64_t>(ids_.size()) - tokens_ + 1);
  std::vector<std::int32_t> out;
  out.reserve(static_cast<std::size_t>(sequences_ * (tokens_ + 1)));
  for (std::int64_t b = 0; b < sequences_; ++b) {
    const std::uint64_t start =
        hash(seed_, static_cast<std::uint64_t>(step), static_cast<std::uint64_t>(b)) % starts;
    out.push_back(bos_id_);
    out.insert(out.end(), ids_.begin() + static_cast<std::ptrdiff_t>(start),
               ids_.begin() + static_cast<std::ptrdiff_t>(start) + tokens_);
  }
  return out;
}

std::vector<std::vector<std::int32_t>> validation_batches(std::span<const std::int32_t> ids,
                                                          std::int32_t bos_id,
                                                          std::int64_t sequences,
                                                          std::int64_t tokens,
                                                          std::int64_t max_batches) {
  check_length(ids, tokens, "validation text");
  std::vector<std::vector<std::int32_t>> batches;
  std::vector<std::int32_t> current;
  for (std::size_t start = 0; start + static_cast<std::size_t>(tokens) <= ids.size();
       start += static_cast<std::size_t>(tokens)) {
    current.push_back(bos_id);
    current.insert(
        current.end(), ids.begin() + static_cast<std::ptrdiff_t>(start),
        ids.begin() + static_cast<std::ptrdiff_t>(start + static_cast<std::size_t>(tokens)));
    if (static_cast<std::int64_t>(current.size()) == sequences * (tokens + 1)) {
      batches.push_back(std::move(current));
      current.clear();
      if (static_cast<std::int64_t>(batches.size()) == max_batches) break;
    }
  }
  if (batches.empty()) batches.push_back(std::move(current));  // fewer than B windows: one batch
  return batches;
}

}  // namespace llama4
