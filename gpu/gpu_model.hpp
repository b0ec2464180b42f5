// GpuModel: the whole Llama 4 text model on one GPU, the twin of common/model/model.hpp's Model.
//
//   ids ── embed_tokens ── layer 0 ── ... ── layer L-1 ── rms_norm ── lm_head ── logits
//
// Built from a loaded CPU Model: it reads the model's config and takes every weight from its
// checkpoint (the same views the CPU layers use) and uploads it once, as stored (bf16, or chapter
// 12's packed blocks). The KV caches of all layers live on the device too, with the CPU's layout
// and chunk-ring rules (gpu/kv_cache.hpp). After that, a forward pass copies the token ids in and
// the logits out, and nothing else unless a recorder asks for the intermediate stages.
//
// Plain C++ (no HIP types): the kernels are behind the gpu/*.hpp wrappers. With GPU_BACKEND=off, or
// no usable GPU, the constructor fails with the reason ("no usable GPU: built with
// GPU_BACKEND=off").
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/debugging/activation_recorder.hpp"
#include "common/model/model.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/tensor.hpp"
#include "gpu/device.hpp"
#include "gpu/gpu_layers.hpp"
#include "gpu/kv_cache.hpp"

namespace llama4::gpu {

class GpuModel {
 public:
  // Uploads `model` to GPU `device` (the --device N of chapter09_hip) with a KV cache for
  // context_length positions. The CPU model may be dropped afterwards.
  GpuModel(const Model& model, std::int64_t context_length, int device = 0);

  const ModelConfig& config() const { return config_; }
  const DeviceInfo& device() const { return device_; }

  // tokens: [T] at positions position() ... + T - 1. Returns logits [T, V] (LogitRows::all) or [1,
  // V] (the last token), f32 on the host. With a recorder, every stage is downloaded and recorded
  // under its golden name (as Model::forward records them; attn_probs is not recorded). The same
  // errors as Model::forward: no tokens, an id outside the vocabulary, past the context length.
  Tensor forward(std::span<const std::int32_t> tokens, LogitRows rows = LogitRows::all,
                 ActivationRecorder* recorder = nullptr);

  // Greedy decoding without moving logits: runs the tokens and returns the argmax of the last
  // token's logits, found on the device (gpu/sampler.hpp). Only one int32 comes back.
  std::int32_t forward_greedy(std::span<const std::int32_t> tokens);

  std::int64_t position() const { return caches_.front().next_position(); }
  std::int64_t context_length() const { return context_length_; }
  void reset();  // forget the sequence: position 0

  std::uint64_t bytes_read_per_token() const { return bytes_read_per_token_; }  // Model's figure
  std::size_t weight_bytes() const;  // device memory held by the weights
  std::size_t cache_bytes() const;   // device memory held by the KV caches

 private:
  // Runs the layers and the LM head; the logits stay on the device (workspace_.logits). Returns
  // the number of logit rows.
  std::int64_t run(std::span<const std::int32_t> tokens, LogitRows rows,
                   ActivationRecorder* recorder);

  DeviceInfo device_;  // first: selecting the device comes before any allocation
  ModelConfig config_;
  std::int64_t context_length_;
  std::uint64_t bytes_read_per_token_;
  DeviceBuffer<float> inverse_frequencies_;  // [head_dim / 2] the RoPE θ table
  DeviceWeight embedding_;                   // [V, H]
  std::vector<GpuDecoderLayer> layers_;
  DeviceWeight final_norm_;              // [H]
  std::optional<DeviceWeight> lm_head_;  // [V, H]; empty when tied to the embedding
  std::vector<DeviceKVCache> caches_;    // one per layer
  Workspace workspace_;
};

}  // namespace llama4::gpu
