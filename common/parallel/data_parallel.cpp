#include "common/parallel/data_parallel.hpp"

#include <algorithm>
#include <vector>

#include "common/tensors/error.hpp"

namespace llama4 {

std::span<const std::int32_t> sequences_of_rank(std::span<const std::int32_t> batch,
                                                std::int64_t sequences,
                                                const Communicator& communicator) {
  const std::int64_t ranks = communicator.size();
  if (sequences < 1 || sequences % ranks != 0)
    fail("--batch ", sequences, " sequences cannot be divided evenly over ", ranks, " ranks");
  if (static_cast<std::int64_t>(batch.size()) % sequences != 0)
    fail("a batch of ", batch.size(), " ids is not ", sequences, " equal sequences");
  const std::size_t slice = batch.size() / static_cast<std::size_t>(ranks);
  return batch.subspan(static_cast<std::size_t>(communicator.rank()) * slice, slice);
}

double average_over_ranks(Communicator& communicator, std::span<float> gradients, double loss,
                          std::size_t bucket_elements) {
  const int ranks = communicator.size();
  if (ranks == 1) return loss;
  const float scale = 1.0f / static_cast<float>(ranks);
  for (std::size_t start = 0; start < gradients.size(); start += bucket_elements) {
    const std::span<float> bucket =
        gradients.subspan(start, std::min(bucket_elements, gradients.size() - start));
    communicator.all_reduce_sum(bucket);
    for (float& value : bucket) value *= scale;
  }
  std::vector<float> total = {static_cast<float>(loss)};
  communicator.all_reduce_sum(total);
  return static_cast<double>(total[0]) / ranks;
}

}  // namespace llama4
