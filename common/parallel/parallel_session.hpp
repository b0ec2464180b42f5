// ParallelSession: the parallel model behind the InferenceSession interface
// (common/model/inference_session.hpp), so chapter 08's generation loop and perplexity run on it
// unchanged. Every rank runs the same session calls in the same order; each gets the same logits.
#pragma once

#include <string>

#include "common/model/inference_session.hpp"
#include "common/parallel/parallel_model.hpp"

namespace llama4 {

class ParallelSession : public InferenceSession {
 public:
  ParallelSession(ParallelModel model, std::int64_t context_length);

  const ModelConfig& config() const override { return model_.config(); }
  Tensor forward(std::span<const std::int32_t> tokens, LogitRows rows,
                 ActivationRecorder* recorder) override;
  std::int64_t position() const override { return cache_.next_position(); }
  std::int64_t context_length() const override { return cache_.context_length; }
  void reset() override { cache_.clear(); }
  std::string device() const override;  // "CPU rank 0 of 4 (tp 2, ep 4, threads 1)"
  // This rank's share of the weights a decode step reads (ParallelModel::bytes_read_per_token).
  std::uint64_t bytes_read_per_token() const override { return model_.bytes_read_per_token(); }

  const ParallelModel& model() const { return model_; }

 private:
  ParallelModel model_;
  KVCache cache_;
};

}  // namespace llama4
