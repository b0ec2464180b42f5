#include "common/tensors/checkpoint_weights.hpp"

#include "common/tensors/error.hpp"

namespace llama4 {

WeightNames::WeightNames(const Checkpoint& checkpoint) {
  if (checkpoint.contains("language_model.model.embed_tokens.weight")) {
    prefix_ = "language_model.";
  } else if (!checkpoint.contains("model.embed_tokens.weight")) {
    fail("checkpoint ", checkpoint.location(),
         " has neither language_model.model.embed_tokens.weight nor model.embed_tokens.weight; "
         "is it a Llama 4 text model?");
  }
  model_ = prefix_ + "model.";
}

std::string WeightNames::layer(std::int64_t layer, std::string_view name) const {
  return model_ + "layers." + std::to_string(layer) + "." + std::string(name);
}

std::vector<WeightShape> text_model_weights(const ModelConfig& config) {
  const std::int64_t hidden = config.hidden_size, vocab = config.vocab_size;
  const std::int64_t q_width = config.num_attention_heads * config.head_dim;
  const std::int64_t kv_width = config.num_key_value_heads * config.head_dim;
  const std::int64_t experts = config.num_local_experts, width = config.intermediate_size;
  const std::int64_t dense_width = config.intermediate_size_mlp;
  using Kind = WeightShape::Kind;
  std::vector<WeightShape> weights;
  const auto matrix = [&](const std::string& name, const Shape& shape, std::int64_t fan_in) {
    weights.push_back({name, shape, Kind::matrix, fan_in});
  };
  const auto norm = [&](const std::string& name) {
    weights.push_back({name, {hidden}, Kind::norm});
  };

  weights.push_back({"model.embed_tokens.weight", {vocab, hidden}, Kind::embedding});
  for (std::int64_t l = 0; l < config.num_hidden_layers; ++l) {
    const std::string layer = "model.layers." + std::to_string(l) + ".";
    norm(layer + "input_layernorm.weight");
    norm(layer + "post_attention_layernorm.weight");
    matrix(layer + "self_attn.q_proj.weight", {q_width, hidden}, hidden);
    matrix(layer + "self_attn.k_proj.weight", {kv_width, hidden}, hidden);
    matrix(layer + "self_attn.v_proj.weight", {kv_width, hidden}, hidden);
    matrix(layer + "self_attn.o_proj.weight", {hidden, q_width}, q_width);
    if (config.layer(l).is_moe) {
      matrix(layer + "feed_forward.router.weight", {experts, hidden}, hidden);
      matrix(layer + "feed_forward.experts.gate_up_proj", {experts, hidden, 2 * width}, hidden);
      matrix(layer + "feed_forward.experts.down_proj", {experts, width, hidden}, width);
      matrix(layer + "feed_forward.shared_expert.gate_proj.weight", {width, hidden}, hidden);
      matrix(layer + "feed_forward.shared_expert.up_proj.weight", {width, hidden}, hidden);
      matrix(layer + "feed_forward.shared_expert.down_proj.weight", {hidden, width}, width);
    } else {
      matrix(layer + "feed_forward.gate_proj.weight", {dense_width, hidden}, hidden);
      matrix(layer + "feed_forward.up_proj.weight", {dense_width, hidden}, hidden);
      matrix(layer + "feed_forward.down_proj.weight", {hidden, dense_width}, dense_width);
    }
  }
  norm("model.norm.weight");
  if (!config.tie_word_embeddings) matrix("lm_head.weight", {vocab, hidden}, hidden);
  return weights;
}

Tensor load_weight(const Checkpoint& checkpoint, const std::string& name, const Shape& expected) {
  if (!checkpoint.contains(name))
    fail("checkpoint ", checkpoint.location(), " has no tensor \"", name, "\"");
  const TensorEntry& entry = checkpoint.entry(name);
  if (entry.shape != expected) {
    fail("tensor \"", name, "\" in ", checkpoint.file_of(name), " has shape ",
         shape_string(entry.shape), " but the config implies ", shape_string(expected),
         "; does config.json belong to these weights?");
  }
  if (!is_floating_point(entry.dtype) && !is_block_quantized(entry.dtype)) {
    fail("tensor \"", name, "\" in ", checkpoint.file_of(name), " has dtype ",
         dtype_name(entry.dtype),
         "; only F32, BF16 and F16 weights (and Q8_0, Q4_0, Q4_1 in a quantized checkpoint) are "
         "supported");
  }
  return checkpoint.tensor(name);
}

}  // namespace llama4
