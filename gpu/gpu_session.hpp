// GpuSession: the GPU model behind the InferenceSession interface
// (common/model/inference_session.hpp), so the chapter 08 program, generation loop and perplexity
// run it unchanged: chapter09_hip is chapter08_model with this session in place of CpuSession.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/model/inference_session.hpp"
#include "common/model/model.hpp"
#include "gpu/gpu_model.hpp"

namespace llama4::gpu {

class GpuSession : public InferenceSession {
 public:
  // Uploads `model` to GPU `device`; fails with the reason when there is no usable GPU.
  GpuSession(const Model& model, std::int64_t context_length, int device = 0);

  const ModelConfig& config() const override { return model_.config(); }
  Tensor forward(std::span<const std::int32_t> tokens, LogitRows rows,
                 ActivationRecorder* recorder) override {
    return model_.forward(tokens, rows, recorder);
  }
  std::int64_t position() const override { return model_.position(); }
  std::int64_t context_length() const override { return model_.context_length(); }
  void reset() override { model_.reset(); }
  // The GPU in one line: "nvidia: device 0 of 1, NVIDIA H100 80GB HBM3 (sm_90), 132
  // multiprocessors, ...".
  std::string device() const override { return describe(model_.device()); }
  std::uint64_t bytes_read_per_token() const override { return model_.bytes_read_per_token(); }

  GpuModel& model() { return model_; }

 private:
  GpuModel model_;
};

}  // namespace llama4::gpu
