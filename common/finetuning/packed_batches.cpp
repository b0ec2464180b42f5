#include "common/finetuning/packed_batches.hpp"

#include <numeric>

#include "common/tensors/error.hpp"
#include "common/training/initialization.hpp"

namespace llama4 {

PackedBatches::PackedBatches(std::vector<SupervisedExample> examples, std::int64_t sequences,
                             std::int64_t tokens, std::int32_t pad_id, std::uint64_t seed)
    : examples_(std::move(examples)),
      sequences_(sequences),
      tokens_(tokens),
      pad_id_(pad_id),
      seed_(seed) {
  for (const SupervisedExample& example : examples_)
    trained_targets_ +=
        std::accumulate(example.trained.begin(), example.trained.end(), std::int64_t{0});
  if (batches_in_epoch(0) == 0) {
    fail(examples_.size(), " conversations pack into ", epoch(0).sequences(), " sequences of ",
         tokens + 1, " tokens: fewer than one batch of ", sequences,
         " (use a smaller --batch or more data)");
  }
}

const PackedSequences& PackedBatches::epoch(std::int64_t epoch) {
  if (epoch == packed_epoch_) return packed_;
  // Fisher-Yates with the counter-based generator: the same order on every machine.
  std::vector<SupervisedExample> order = examples_;
  for (std::size_t i = order.size(); i > 1; --i) {
    const std::uint64_t random = counter_hash(seed_, static_cast<std::uint64_t>(epoch), i);
    std::swap(order[i - 1], order[random % i]);
  }
  packed_ = pack_examples(order, tokens_, pad_id_);
  packed_epoch_ = epoch;
  return packed_;
}

std::int64_t PackedBatches::batches_in_epoch(std::int64_t e) {
  while (std::ssize(batches_per_epoch_) <= e) {
    const auto next = static_cast<std::int64_t>(batches_per_epoch_.size());
    batches_per_epoch_.push_back(epoch(next).sequences() / sequences_);
  }
  return batches_per_epoch_[static_cast<std::size_t>(e)];
}

TrainingBatch PackedBatches::batch(std::int64_t step) {
  std::int64_t e = 0;
  while (step >= batches_in_epoch(e)) step -= batches_in_epoch(e++);
  return epoch(e).batch(step * sequences_, sequences_);
}

double PackedBatches::epochs_after(std::int64_t steps) {
  std::int64_t e = 0;
  while (steps >= batches_in_epoch(e)) steps -= batches_in_epoch(e++);
  return static_cast<double>(e) +
         static_cast<double>(steps) / static_cast<double>(batches_in_epoch(e));
}

}  // namespace llama4
