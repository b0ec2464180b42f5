#include "common/parallel/parallel_session.hpp"

#include <omp.h>

#include "common/tensors/error.hpp"

namespace llama4 {

ParallelSession::ParallelSession(ParallelModel model, std::int64_t context_length)
    : model_(std::move(model)), cache_(model_.make_cache(context_length)) {}

Tensor ParallelSession::forward(std::span<const std::int32_t> tokens, LogitRows rows,
                                ActivationRecorder* recorder) {
  if (recorder != nullptr) fail("the parallel model does not record activations (chapter 08 does)");
  return model_.forward(tokens, cache_, rows);
}

std::string ParallelSession::device() const {
  const ParallelPlan& plan = model_.plan();
  return "CPU rank " + std::to_string(plan.rank) + " of " + std::to_string(plan.ranks) + " (tp " +
         std::to_string(plan.tensor_parallel) + ", ep " + std::to_string(plan.expert_parallel) +
         ", threads " + std::to_string(omp_get_max_threads()) + ")";
}

}  // namespace llama4
