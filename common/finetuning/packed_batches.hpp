// The batches of a fine-tuning run: epoch after epoch over the conversations, each epoch in a new
// order, packed (packing.hpp) and cut into batches of B sequences.
//
//   epoch e:  shuffle(conversations, seed, e) -> pack into sequences of T + 1 -> [B][B][B]...[B|
//   step s:   the batch after the s earlier ones, counting epochs in order         drop the rest
//
// The order of epoch e depends only on (seed, e), so step s always gets the same batch: a resumed
// run reads exactly what the run it continues would have read.
#pragma once

#include <cstdint>
#include <vector>

#include "common/finetuning/packing.hpp"

namespace llama4 {

class PackedBatches {
 public:
  // An Error when the conversations do not fill one batch of `sequences` sequences.
  PackedBatches(std::vector<SupervisedExample> examples, std::int64_t sequences,
                std::int64_t tokens, std::int32_t pad_id, std::uint64_t seed);

  // The batch of step `step` (0-based). Its views stay valid until the next call.
  TrainingBatch batch(std::int64_t step);
  // How many whole batches epoch `epoch` holds (its packing varies a little with the order).
  std::int64_t batches_in_epoch(std::int64_t epoch);
  // Passes over the conversations after `steps` steps (1.5: one and a half).
  double epochs_after(std::int64_t steps);
  // Targets trained on per pass over the data (the assistants' tokens and their <|eot|>).
  std::int64_t trained_targets_per_epoch() const { return trained_targets_; }

 private:
  const PackedSequences& epoch(std::int64_t epoch);

  std::vector<SupervisedExample> examples_;
  std::int64_t sequences_, tokens_;
  std::int32_t pad_id_;
  std::uint64_t seed_;
  std::int64_t trained_targets_ = 0;
  std::vector<std::int64_t> batches_per_epoch_;  // epochs packed so far
  std::int64_t packed_epoch_ = -1;
  PackedSequences packed_;  // of packed_epoch_
};

}  // namespace llama4
