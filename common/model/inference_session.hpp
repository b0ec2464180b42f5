// InferenceSession: a model together with its KV cache, ready to take the next tokens.
//
// The generation loop, perplexity and the chapter 08 program talk to this interface only, so the
// GPU model of chapter 09 plugs into exactly the same program: it implements forward() on the
// device and keeps its cache there.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/debugging/activation_recorder.hpp"
#include "common/model/model.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {

class InferenceSession {
 public:
  virtual ~InferenceSession() = default;

  virtual const ModelConfig& config() const = 0;
  // Runs the next tokens (positions position() onwards) and returns their logits, F32 on the host:
  // [T, V] for LogitRows::all, [1, V] for LogitRows::last.
  virtual Tensor forward(std::span<const std::int32_t> tokens, LogitRows rows,
                         ActivationRecorder* recorder = nullptr) = 0;
  virtual std::int64_t position() const = 0;        // tokens seen so far
  virtual std::int64_t context_length() const = 0;  // the most it can hold
  virtual void reset() = 0;                         // forget everything: position 0
  virtual std::string device() const = 0;           // "CPU (16 threads)", "NVIDIA H100 ..."
  virtual std::uint64_t bytes_read_per_token() const = 0;
};

// The CPU model of chapter 08 with its KV cache.
class CpuSession : public InferenceSession {
 public:
  CpuSession(Model model, std::int64_t context_length);

  const ModelConfig& config() const override { return model_.config(); }
  Tensor forward(std::span<const std::int32_t> tokens, LogitRows rows,
                 ActivationRecorder* recorder) override;
  std::int64_t position() const override { return cache_.next_position(); }
  std::int64_t context_length() const override { return cache_.context_length; }
  void reset() override { cache_.clear(); }
  std::string device() const override;
  std::uint64_t bytes_read_per_token() const override { return model_.bytes_read_per_token(); }

  const Model& model() const { return model_; }
  const KVCache& cache() const { return cache_; }

 private:
  Model model_;
  KVCache cache_;
};

}  // namespace llama4
