// batch_by_expert: the host half of the MoE dispatch (gpu/moe.hpp). Plain C++, every backend.
#include "common/tensors/error.hpp"
#include "gpu/moe.hpp"

namespace llama4::gpu {

ExpertBatches batch_by_expert(std::span<const std::int32_t> expert_index, std::int64_t experts) {
  ExpertBatches batches;
  batches.offsets.assign(static_cast<std::size_t>(experts) + 1, 0);
  // Count each expert's slots, turn the counts into starting offsets, then place the slots in order
  // (a counting sort: stable, so each expert's slots stay in increasing order, as the CPU visits
  // them).
  for (std::size_t slot = 0; slot < expert_index.size(); ++slot) {
    const std::int32_t expert = expert_index[slot];
    if (expert < 0 || expert >= experts) {
      fail("MoE: slot ", slot, " was routed to expert ", expert, ", outside 0..", experts - 1,
           " (a NaN in the router logits?)");
    }
    ++batches.offsets[static_cast<std::size_t>(expert) + 1];
  }
  for (std::size_t e = 0; e < static_cast<std::size_t>(experts); ++e)
    batches.offsets[e + 1] += batches.offsets[e];
  batches.slots.resize(expert_index.size());
  std::vector<std::int64_t> next(batches.offsets.begin(), batches.offsets.end() - 1);
  for (std::size_t slot = 0; slot < expert_index.size(); ++slot) {
    const auto expert = static_cast<std::size_t>(expert_index[slot]);
    batches.slots[static_cast<std::size_t>(next[expert]++)] = static_cast<std::int32_t>(slot);
  }
  return batches;
}

}  // namespace llama4::gpu
