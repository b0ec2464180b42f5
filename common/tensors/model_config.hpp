// ModelConfig: the hyperparameters of a Llama 4 text model, read from Hugging Face's config.json.
//
// A released checkpoint's config.json is the multimodal `Llama4Config` ("model_type": "llama4")
// with the text model's settings nested under "text_config"; a text-only export is the bare
// `Llama4TextConfig` ("model_type": "llama4_text"). Both are accepted. Missing fields take HF's
// defaults (which are Scout's values, except the token ids: always set those).
//
// From the config we derive what every layer does, exactly as HF does (see LayerConfig). The famous
// trap: `no_rope_layers[l] == 1` means layer l DOES use RoPE. The list is named after the layers it
// marks with 0.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llama4 {

// Bounds on the sizes config.json may give, checked before anything is built from them. Each is
// far above any Llama 4 and keeps the products the program forms from them (weights per layer,
// parameter counts, byte sizes) far from 64-bit overflow; a config beyond them is damaged or not a
// Llama 4 config. Without them `"num_hidden_layers": 1e9` spent 35 s and 8 GB on a layer list
// before any weight was checked.
namespace config_limits {
inline constexpr std::int64_t kMaxLayers = 1024;            // Scout and Maverick: 48
inline constexpr std::int64_t kMaxVocabulary = 2147483647;  // token ids are int32; Llama 4: 202,048
inline constexpr std::int64_t kMaxWidth = 1 << 18;          // hidden and MLP sizes; Scout: 16,384
inline constexpr std::int64_t kMaxHeads = 1 << 12;          // Scout: 40 query, 8 key/value heads
inline constexpr std::int64_t kMaxHeadDim = 1 << 12;        // Llama 4: 128
inline constexpr std::int64_t kMaxExperts = 1 << 10;        // Maverick: 128
inline constexpr std::int64_t kMaxPositions = 1 << 30;      // Scout: 10,485,760
}  // namespace config_limits

// llama3-style RoPE frequency scaling ("rope_scaling" / "rope_parameters" with rope_type llama3).
struct RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  std::int64_t original_max_position_embeddings = 8192;
  // GGUF files (chapter 12) carry the outcome of the formula instead of its four numbers: one
  // divisor per frequency (the "rope_freqs" tensor, D/2 values). When present they replace the
  // formula: θ_i = θ_i,plain / divisor_i.
  std::vector<float> frequency_divisors;
};

// What one decoder layer does.
struct LayerConfig {
  bool uses_rope = true;                 // no_rope_layers[l] == 1; false: a NoPE layer
  bool chunked_attention = true;         // layer_types[l] == "chunked_attention"; false: global
  bool uses_qk_norm = false;             // use_qk_norm and uses_rope
  bool uses_temperature_tuning = false;  // attn_temperature_tuning and not uses_rope
  bool is_moe = false;                   // l in moe_layers; false: dense SwiGLU MLP
};

struct ModelConfig {
  std::string model_type;  // "llama4" (nested text_config) or "llama4_text"
  std::int64_t vocab_size = 202048;
  std::int64_t hidden_size = 5120;
  std::int64_t intermediate_size = 8192;       // width of each routed expert and the shared expert
  std::int64_t intermediate_size_mlp = 16384;  // width of the dense MLP layers
  std::int64_t num_hidden_layers = 48;
  std::int64_t num_attention_heads = 40;
  std::int64_t num_key_value_heads = 8;
  std::int64_t head_dim = 128;
  std::string hidden_act = "silu";
  std::int64_t max_position_embeddings = 131072;
  double rms_norm_eps = 1e-5;
  double rope_theta = 500000.0;
  std::optional<RopeScaling> rope_scaling;  // nullopt: plain RoPE (Maverick)
  std::int64_t num_local_experts = 16;
  std::int64_t num_experts_per_tok = 1;
  std::int64_t interleave_moe_layer_step = 1;
  std::vector<std::int64_t> moe_layers;
  bool use_qk_norm = true;
  std::int64_t no_rope_layer_interval = 4;
  std::vector<int> no_rope_layers;  // 1 = uses RoPE (sic), 0 = NoPE
  std::optional<std::int64_t> attention_chunk_size = 8192;
  std::vector<std::string> layer_types;  // "chunked_attention" or "full_attention"
  bool attn_temperature_tuning = true;
  double floor_scale = 8192.0;
  double attn_scale = 0.1;
  bool tie_word_embeddings = false;
  std::optional<std::int64_t> bos_token_id = 1;
  std::vector<std::int64_t> eos_token_ids = {2};
  std::optional<std::int64_t> pad_token_id;

  // Where the weights came from, when they are random rather than trained: the golden tiny models
  // carry "random_weights" in their config.json (golden/generate.py writes it), the synthetic
  // shapes set it themselves (synthetic_model.hpp). Empty for a trained checkpoint. A program that
  // runs random weights says so, so that nobody mistakes their output for what Llama 4 would say.
  std::string random_weights;

  std::vector<LayerConfig> layers;  // derived: one entry per decoder layer

  // Query heads that share one key/value head (grouped-query attention).
  std::int64_t query_heads_per_kv_head() const { return num_attention_heads / num_key_value_heads; }

  // The LayerConfig of layer `layer`; an Error if the model has no such layer.
  const LayerConfig& layer(std::int64_t layer) const;

  // Number of weights in the text model (embedding, layers, final norm, LM head).
  std::uint64_t total_parameters() const;
  // Weights one token uses: every routed expert it is not sent to is skipped. This is the "17B
  // active" of Llama 4 Scout's name.
  std::uint64_t active_parameters() const;
};

// Parses config.json text. `source` names the file in error messages.
ModelConfig parse_model_config(std::string_view json_text, std::string_view source);

// Reads `path`, which is a config.json or a checkpoint directory containing one.
ModelConfig load_model_config(const std::filesystem::path& path);

}  // namespace llama4
