#include "common/model/synthetic_model.hpp"

#include <cmath>

#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

struct SyntheticShape {
  const char* name;
  const char* config_json;  // a text config, parsed exactly like a downloaded config.json
};

// Sizes for each name; everything not listed takes Llama 4's values (RoPE θ 500000, chunk 8192,
// NoPE every 4th layer, temperature tuning, QK norm).
constexpr SyntheticShape kShapes[] = {
    {"tiny",
     R"({"vocab_size": 512, "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
      "head_dim": 16, "num_hidden_layers": 4, "attention_chunk_size": 8, "interleave_moe_layer_step": 2,
      "num_local_experts": 4, "intermediate_size": 32, "intermediate_size_mlp": 96, "floor_scale": 4,
      "rope_theta": 10000.0, "max_position_embeddings": 128, "bos_token_id": 1, "eos_token_id": 2,
      "rope_scaling": {"rope_type": "llama3", "factor": 16.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                       "original_max_position_embeddings": 64}})"},
    {"tiny-202k",
     R"({"vocab_size": 202048, "hidden_size": 64, "num_attention_heads": 4,
      "num_key_value_heads": 2, "head_dim": 16, "num_hidden_layers": 4, "attention_chunk_size": 8,
      "interleave_moe_layer_step": 2, "num_local_experts": 4, "intermediate_size": 32,
      "intermediate_size_mlp": 96, "floor_scale": 4, "rope_theta": 10000.0,
      "max_position_embeddings": 4096, "bos_token_id": 200000,
      "eos_token_id": [200001, 200007, 200008], "pad_token_id": 200018})"},
    {"100m",
     R"({"vocab_size": 32000, "hidden_size": 640, "num_attention_heads": 10, "num_key_value_heads": 2,
      "head_dim": 64, "num_hidden_layers": 8, "interleave_moe_layer_step": 2, "num_local_experts": 8,
      "intermediate_size": 768, "intermediate_size_mlp": 1536, "bos_token_id": 1, "eos_token_id": 2})"},
    {"1b",
     R"({"vocab_size": 32000, "hidden_size": 2048, "num_attention_heads": 16, "num_key_value_heads": 4,
      "head_dim": 128, "num_hidden_layers": 16, "interleave_moe_layer_step": 2, "num_local_experts": 4,
      "intermediate_size": 2048, "intermediate_size_mlp": 4096, "bos_token_id": 1, "eos_token_id": 2})"},
    {"scout-layer", R"({"vocab_size": 202048, "hidden_size": 5120, "num_attention_heads": 40,
      "num_key_value_heads": 8, "head_dim": 128, "num_hidden_layers": 1, "num_local_experts": 16,
      "intermediate_size": 8192, "intermediate_size_mlp": 16384, "bos_token_id": 200000,
      "eos_token_id": [200001, 200007, 200008],
      "rope_scaling": {"rope_type": "llama3", "factor": 16.0, "low_freq_factor": 1.0, "high_freq_factor": 1.0,
                       "original_max_position_embeddings": 8192}})"},
};

// A 64-bit hash of three numbers (splitmix64 finaliser over a combination).
std::uint64_t mix(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t z =
      a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull ^ c;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// A bf16 tensor of N(mean, std²) values (approximately normal: the sum of four uniforms).
Tensor random_bf16(const Shape& shape, std::uint64_t seed, std::uint64_t tensor_index, float mean,
                   float std) {
  Tensor tensor = Tensor::zeros(shape, DType::BF16);
  bfloat16* data = tensor.mutable_data<bfloat16>();
  const std::int64_t count = tensor.numel();
  const float scale = std * std::sqrt(3.0f) / 2.0f;  // four uniforms in [-1, 1): variance 4/3
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < count; ++i) {
    const std::uint64_t bits = mix(seed, tensor_index, static_cast<std::uint64_t>(i));
    float sum = 0;
    for (int part = 0; part < 4; ++part) {
      sum += static_cast<float>((bits >> (16 * part)) & 0xffff) / 32768.0f - 1.0f;
    }
    data[i] = float_to_bfloat16(mean + scale * sum);
  }
  return tensor;
}

}  // namespace

std::vector<std::string> synthetic_model_names() {
  std::vector<std::string> names;
  for (const SyntheticShape& shape : kShapes) names.emplace_back(shape.name);
  return names;
}

std::vector<std::string> synthetic_models_that_take_text(std::int64_t tokenizer_vocab_size) {
  std::vector<std::string> names;
  for (const std::string& name : synthetic_model_names()) {
    if (synthetic_config(name).vocab_size >= tokenizer_vocab_size) names.push_back(name);
  }
  return names;
}

ModelConfig synthetic_config(std::string_view name) {
  for (const SyntheticShape& shape : kShapes) {
    if (name != shape.name) continue;
    ModelConfig config =
        parse_model_config(shape.config_json, "synthetic model " + std::string(name));
    config.random_weights = "synthetic shape " + std::string(name);
    return config;
  }
  std::string known;
  for (const std::string& candidate : synthetic_model_names()) {
    if (!known.empty()) known += ", ";
    known += candidate;
  }
  fail("unknown synthetic model \"", name, "\"; known: ", known);
}

Checkpoint synthetic_checkpoint(const ModelConfig& config, std::uint64_t seed) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const WeightShape& weight : text_model_weights(config)) {
    // Embedding rows N(0, 1), norm weights 1 ± 0.1, matrices N(0, 1/fan_in).
    const bool is_norm = weight.kind == WeightShape::Kind::norm;
    const float std = weight.kind == WeightShape::Kind::matrix
                          ? 1.0f / std::sqrt(static_cast<float>(weight.fan_in))
                          : (is_norm ? 0.1f : 1.0f);
    tensors.emplace_back(
        weight.name, random_bf16(weight.shape, seed, tensors.size(), is_norm ? 1.0f : 0.0f, std));
  }
  return Checkpoint::from_tensors("synthetic model (seed " + std::to_string(seed) + ")",
                                  std::move(tensors));
}

}  // namespace llama4
