// Training batches: what the model reads at each step.
//
// The training text is tokenized once into one long stream of ids. A batch is B windows of T
// consecutive ids from it, each starting at a random place, with <|begin_of_text|> put in front:
//
//   sequence = [BOS, ids[p], ids[p+1], ..., ids[p+T-1]]      T + 1 ids: T inputs, T targets
//
// Why BOS: at inference a prompt always starts with it (chapter 02), so the model must have
// learned what to do after it; and a window that starts mid-sentence, right after BOS, is exactly
// the situation of a user who types a fragment.
//
// The start positions of step s come from a hash of (seed, s, b), not from a generator that
// advances: step s reads the same batch whether training ran from step 0 or resumed at step s.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace llama4 {

class BatchSampler {
 public:
  // ids: the tokenized training text (kept by reference: it must outlive the sampler).
  // An Error if the text is shorter than one window (T ids).
  BatchSampler(std::span<const std::int32_t> ids, std::int32_t bos_id, std::int64_t sequences,
               std::int64_t tokens, std::uint64_t seed);

  // The batch of step `step`: B sequences of T + 1 ids, row-major [B, T + 1].
  std::vector<std::int32_t> batch(std::int64_t step) const;

  std::int64_t sequences() const { return sequences_; }
  std::int64_t tokens() const { return tokens_; }

 private:
  std::span<const std::int32_t> ids_;
  std::int32_t bos_id_;
  std::int64_t sequences_, tokens_;
  std::uint64_t seed_;
};

// Validation batches: the text cut into consecutive windows of T ids (each with BOS in front),
// B per batch, at most max_batches batches (the first ones: the same every time). An Error if the
// text is shorter than one window.
std::vector<std::vector<std::int32_t>> validation_batches(std::span<const std::int32_t> ids,
                                                          std::int32_t bos_id,
                                                          std::int64_t sequences,
                                                          std::int64_t tokens,
                                                          std::int64_t max_batches);

}  // namespace llama4
