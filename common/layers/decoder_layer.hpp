// One decoder layer: the unit Llama 4 stacks 48 times.
//
//   x ─┬─ rms_norm(input_layernorm) ── attention ──(+)─┬─ rms_norm(post_attention_layernorm) ── FFN
//   ──(+)── out
//      └───────────────────────────────────────────┘   └──────────────────────────────────────────┘
//
// "Pre-norm" residual blocks: each sub-block sees a normalised copy of the residual stream and adds
// its result back. The FFN is the MoE layer on MoE layers (all of Scout's; Maverick's odd ones) and
// a dense SwiGLU MLP of width intermediate_size_mlp otherwise. What the attention does (RoPE or
// NoPE, chunked or global, QK norm, temperature) comes from the layer's LayerConfig.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/debugging/activation_recorder.hpp"
#include "common/layers/attention.hpp"
#include "common/layers/feed_forward.hpp"
#include "common/layers/kv_cache.hpp"
#include "common/layers/moe.hpp"
#include "common/tensors/checkpoint.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {

// a += b, both [T, H] F32: the residual connection (also the training and parallel chapters').
void add_into(Tensor& a, const Tensor& b);

class DecoderLayer {
 public:
  DecoderLayer(const ModelConfig& config, std::int64_t layer, const Checkpoint& checkpoint,
               const WeightNames& names, const std::vector<float>& inverse_frequencies);

  // x: [T, H] residual stream -> [T, H]. Appends the T tokens to `cache`.
  Tensor forward(const Tensor& x, LayerKVCache& cache,
                 ActivationRecorder* recorder = nullptr) const;

  // x: [B, H], one next token for each of B sequences, row b's cache caches[b] (batched decode:
  // AttentionLayer::forward_batch). The same two blocks as forward(). -> [B, H]
  Tensor forward_batch(const Tensor& x, std::span<LayerKVCache* const> caches) const;

  LayerKVCache make_cache(std::int64_t context_length) const {
    return attention_.make_cache(context_length);
  }
  const LayerConfig& kind() const { return attention_.kind(); }

  const Tensor& input_norm() const { return input_norm_; }
  const Tensor& post_attention_norm() const { return post_attention_norm_; }
  const AttentionLayer& attention() const { return attention_; }
  const MoeLayer* moe() const { return moe_ ? &*moe_ : nullptr; }
  const FeedForward* mlp() const { return mlp_ ? &*mlp_ : nullptr; }

 private:
  std::int64_t layer_;
  float norm_eps_;
  Tensor input_norm_;           // [H]
  Tensor post_attention_norm_;  // [H]
  AttentionLayer attention_;
  std::optional<MoeLayer> moe_;     // MoE layers
  std::optional<FeedForward> mlp_;  // dense layers
};

}  // namespace llama4
