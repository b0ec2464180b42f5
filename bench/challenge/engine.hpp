// The engines a challenge run can judge, behind one interface: greedy generation of a batch of
// requests with the time of every token, and the logits of a token sequence for the accuracy gate.
//
//   cpu-f32        chapter 08 on the CPU with every float weight widened to f32: the reference
//   cpu-bf16       chapter 08 with the float weights in bf16 (how the checkpoints are stored)
//   cpu-q8_0, cpu-q4_0, cpu-q4_1   chapter 12's formats, quantized at load
//   gpu-chapter09  chapter 09's GPU model (one sequence at a time; needs a GPU)
//
// A competitor's engine is one more class here and one more name in make_engine.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/model/batched_generation.hpp"
#include "common/model/inference_session.hpp"
#include "common/model/model.hpp"

namespace llama4::challenge {

class Engine {
 public:
  virtual ~Engine() = default;

  virtual std::string name() const = 0;
  virtual std::string device() const = 0;
  virtual const ModelConfig& config() const = 0;
  virtual std::uint64_t weight_bytes() const = 0;          // every weight, as the engine holds it
  virtual std::uint64_t bytes_read_per_token() const = 0;  // one decode step at batch 1
  // The largest batch it decodes in one step (1: one sequence at a time).
  virtual std::int64_t max_batch() const = 0;
  // The read bandwidth of the memory its weights live in, measured now (bytes per second): the
  // ceiling of decode speed, bandwidth / bytes_read_per_token.
  virtual double measure_read_bandwidth() const = 0;

  // Greedy generation of every request, at most `batch` at once; `times` gets each request's
  // RequestTimes. The contract of generate_batched (common/model/batched_generation.hpp).
  virtual std::vector<std::vector<std::int32_t>> generate(
      std::span<const GenerationRequest> requests, std::int64_t batch,
      std::span<const std::int32_t> stop_ids, std::vector<RequestTimes>& times) = 0;

  // Logits [T, V] (F32) of `tokens` read from an empty cache: teacher forcing.
  virtual Tensor logits(std::span<const std::int32_t> tokens) = 0;
};

// The CPU model (chapter 08): batched decode and continuous batching.
class CpuEngine : public Engine {
 public:
  CpuEngine(std::string name, Model model, std::int64_t context_length);

  std::string name() const override { return name_; }
  std::string device() const override;
  const ModelConfig& config() const override { return model_.config(); }
  std::uint64_t weight_bytes() const override { return model_.checkpoint().total_bytes(); }
  std::uint64_t bytes_read_per_token() const override { return model_.bytes_read_per_token(); }
  std::int64_t max_batch() const override { return 4096; }
  double measure_read_bandwidth() const override;
  std::vector<std::vector<std::int32_t>> generate(std::span<const GenerationRequest> requests,
                                                  std::int64_t batch,
                                                  std::span<const std::int32_t> stop_ids,
                                                  std::vector<RequestTimes>& times) override;
  Tensor logits(std::span<const std::int32_t> tokens) override;

 private:
  std::string name_;
  Model model_;
  std::int64_t context_length_;
};

// Any InferenceSession (the GPU model of chapter 09): one sequence at a time, through its cache.
class SessionEngine : public Engine {
 public:
  SessionEngine(std::string name, std::unique_ptr<InferenceSession> session,
                std::uint64_t weight_bytes);

  std::string name() const override { return name_; }
  std::string device() const override { return session_->device(); }
  const ModelConfig& config() const override { return session_->config(); }
  std::uint64_t weight_bytes() const override { return weight_bytes_; }
  std::uint64_t bytes_read_per_token() const override { return session_->bytes_read_per_token(); }
  std::int64_t max_batch() const override { return 1; }
  double measure_read_bandwidth() const override { return 0; }  // 0: not known
  std::vector<std::vector<std::int32_t>> generate(std::span<const GenerationRequest> requests,
                                                  std::int64_t batch,
                                                  std::span<const std::int32_t> stop_ids,
                                                  std::vector<RequestTimes>& times) override;
  Tensor logits(std::span<const std::int32_t> tokens) override;

 protected:
  InferenceSession& session() { return *session_; }

 private:
  std::string name_;
  std::unique_ptr<InferenceSession> session_;
  std::uint64_t weight_bytes_;
};

// The names make_engine knows, in the order --help lists them.
std::vector<std::string> engine_names();

// Loads the model at `model_path` (a checkpoint directory or a GGUF file) for engine `name`, with a
// KV cache of `context_length` positions (GPU `device` for GPU engines). An unknown name is an
// Error listing the known ones; a GPU engine without a usable GPU is an Error saying why.
std::unique_ptr<Engine> make_engine(const std::string& name,
                                    const std::filesystem::path& model_path,
                                    std::int64_t context_length, int device = 0);

// `model` with every floating-point weight converted to `dtype` (F32 or BF16); quantized weights
// are kept as they are.
Model with_float_weights(const Model& model, DType dtype);

}  // namespace llama4::challenge
