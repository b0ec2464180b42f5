// Attention, Llama 4 style: grouped-query attention over a KV cache, with RoPE + QK norm and a
// chunked mask on RoPE layers, and temperature-tuned queries with a global mask on NoPE layers.
//
// For T new tokens x: [T, H] (already normed), starting at position p0 = cache.next_position():
//
//   q = x·W_qᵀ -> [T, heads, D]      k = x·W_kᵀ, v = x·W_vᵀ -> [T, kv_heads, D]
//   RoPE layer:  q, k = rope(q), rope(k);  then, if use_qk_norm, q, k = qk_norm(q), qk_norm(k)
//   NoPE layer:  q = q · temperature(position)   (if attn_temperature_tuning)
//   append k, v to the cache
//   for each token t (position p) and query head h, with kv head g = h / (heads / kv_heads):
//       s_j = q[t,h] · k_j[g] / sqrt(D)        for the visible positions j
//       context[t,h] = Σ_j softmax(s)_j · v_j[g]
//   out = context·W_oᵀ -> [T, H]
//
// Visible positions (i = query position, j = key position, C = attention_chunk_size):
//   global (NoPE) layers:  j <= i
//   chunked (RoPE) layers: j <= i and floor(j/C) == floor(i/C)
// The chunk is NOT a sliding window: the first token of a chunk sees only itself. Several ports got
// this wrong (mlx-lm #1673, HF #37414); the golden test of 24 tokens with C = 8 crosses two chunk
// boundaries in prefill and in token-by-token decode.
//
// Grouped-query attention: Scout has 40 query heads but 8 key/value heads; each group of 5 query
// heads shares one kv head (query head h uses kv head h / 5), which shrinks the KV cache five-fold.
// attend() follows the groups, not the query heads: it reads each cached key and value once and
// uses it for all 5 heads, so decode moves a fifth of the bytes too.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/debugging/activation_recorder.hpp"
#include "common/layers/kv_cache.hpp"
#include "common/tensors/checkpoint.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {

struct AttentionWeights {
  Tensor q_proj;  // [heads * D, H]
  Tensor k_proj;  // [kv_heads * D, H]
  Tensor v_proj;  // [kv_heads * D, H]
  Tensor o_proj;  // [H, heads * D]
};

// Checks that the four projections have the shapes layer `layer` of `config` needs; an error names
// the layer and the tensor. Used by the CPU layer and by the GPU one (gpu/gpu_layers.cpp).
void check_attention_weights(const AttentionWeights& weights, const ModelConfig& config,
                             std::int64_t layer);

class AttentionLayer {
 public:
  // Loads layer `layer`'s weights (checking their shapes against the config).
  AttentionLayer(const ModelConfig& config, std::int64_t layer, const Checkpoint& checkpoint,
                 const WeightNames& names, const std::vector<float>& inverse_frequencies);
  AttentionLayer(const ModelConfig& config, std::int64_t layer, AttentionWeights weights,
                 const std::vector<float>& inverse_frequencies);

  // x: [T, H] normed hidden states of tokens at positions cache.next_position() onwards.
  // Returns [T, H]. Appends the T tokens' keys and values to `cache`.
  Tensor forward(const Tensor& x, LayerKVCache& cache,
                 ActivationRecorder* recorder = nullptr) const;

  // Decode for several sequences at once (issue: batched generation). x: [B, H], row b the next
  // token of the sequence whose cache is caches[b]. The projections run on all B rows together, so
  // each weight is read once for B tokens; RoPE, the cache and attention are per sequence, each at
  // its own position. Returns [B, H].
  Tensor forward_batch(const Tensor& x, std::span<LayerKVCache* const> caches) const;

  // A cache suited to this layer: ring of chunk size for chunked layers, full otherwise.
  LayerKVCache make_cache(std::int64_t context_length) const;

  const LayerConfig& kind() const { return kind_; }
  const AttentionWeights& weights() const { return weights_; }

 private:
  // context: [T, heads * D] from q: [T, heads, D] against the cache (which already holds the T
  // tokens' keys and values). probabilities (optional): [heads, T, p0 + T], masked entries 0.
  void attend(const Tensor& q, std::int64_t start, std::int64_t end, const LayerKVCache& cache,
              Tensor& context, Tensor* probabilities, std::int64_t first_position) const;

  std::int64_t layer_;
  LayerConfig kind_;
  std::int64_t heads_, kv_heads_, head_dim_;
  std::optional<std::int64_t> chunk_size_;
  float norm_eps_;
  double floor_scale_, attn_scale_;
  std::vector<float> inverse_frequencies_;  // RoPE θ_i, [D/2]
  AttentionWeights weights_;
};

}  // namespace llama4
