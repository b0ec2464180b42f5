#include "common/layers/decoder_layer.hpp"

#include "common/layers/rms_norm.hpp"

namespace llama4 {
void add_into(Tensor& a, const Tensor& b) {
  float* out = a.mutable_data<float>();
  const float* in = b.data<float>();
  const std::int64_t count = a.numel();  // once: a call in the loop condition runs every time
  for (std::int64_t i = 0; i < count; ++i) out[i] += in[i];
}

DecoderLayer::DecoderLayer(const ModelConfig& config, std::int64_t layer,
                           const Checkpoint& checkpoint, const WeightNames& names,
                           const std::vector<float>& inverse_frequencies)
    : layer_(layer),
      norm_eps_(static_cast<float>(config.rms_norm_eps)),
      input_norm_(load_weight(checkpoint, names.layer(layer, "input_layernorm.weight"),
                              {config.hidden_size})),
      post_attention_norm_(load_weight(
          checkpoint, names.layer(layer, "post_attention_layernorm.weight"), {config.hidden_size})),
      attention_(config, layer, checkpoint, names, inverse_frequencies) {
  if (config.layer(layer).is_moe) {
    moe_.emplace(config, layer, checkpoint, names);
  } else {
    mlp_ = FeedForward::load(checkpoint, names.layer(layer, "feed_forward."), config.hidden_size,
                             config.intermediate_size_mlp);
  }
}

// [excerpt decoder_layer_forward]
Tensor DecoderLayer::forward(const Tensor& x, LayerKVCache& cache,
                             ActivationRecorder* recorder) const {
  // [excerpt pause]
  const auto record = [&](const char* stage, const Tensor& t) {
    if (recorder != nullptr) recorder->record(layer_, stage, t);
  };
  // [excerpt resume]
  // Attention block.
  const Tensor attention_input = rms_norm(x, input_norm_, norm_eps_);  // [T, H]
  record("attn_norm", attention_input);
  Tensor hidden = x.clone();  // [T, H]
  add_into(hidden, attention_.forward(attention_input, cache, recorder));
  record("attn_residual", hidden);

  // Feed-forward block.
  const Tensor ffn_input = rms_norm(hidden, post_attention_norm_, norm_eps_);  // [T, H]
  record("ffn_norm", ffn_input);
  const Tensor ffn_output = moe_ ? moe_->forward(ffn_input, recorder) : mlp_->forward(ffn_input);
  if (mlp_) record("mlp_out", ffn_output);
  record("ffn_out", ffn_output);
  add_into(hidden, ffn_output);
  record("output", hidden);
  return hidden;
}
// [end excerpt]

Tensor DecoderLayer::forward_batch(const Tensor& x, std::span<LayerKVCache* const> caches) const {
  Tensor hidden = x.clone();  // [B, H]
  add_into(hidden, attention_.forward_batch(rms_norm(x, input_norm_, norm_eps_), caches));
  const Tensor ffn_input = rms_norm(hidden, post_attention_norm_, norm_eps_);
  add_into(hidden, moe_ ? moe_->forward(ffn_input) : mlp_->forward(ffn_input));
  return hidden;
}

}  // namespace llama4
