#include "common/layers/moe.hpp"

#include <cstring>

#include "common/tensors/error.hpp"
#include "common/tensors/matmul.hpp"

namespace llama4 {

MoeLayer::MoeLayer(const ModelConfig& config, std::int64_t layer, MoeWeights weights)
    : layer_(layer),
      top_k_(config.num_experts_per_tok),
      width_(config.intermediate_size),
      weights_(std::move(weights)) {
  check_moe_weights(weights_, config, layer);
}

namespace {

// The stacked experts' shape: [E, in, out] as the checkpoint stores them, or [E, out, in] once
// quantized (blocks run along the input; see common/quantization/quantize_weights.hpp).
Shape expert_shape(DType dtype, std::int64_t experts, std::int64_t in, std::int64_t out) {
  return is_block_quantized(dtype) ? Shape{experts, out, in} : Shape{experts, in, out};
}

}  // namespace

void check_moe_weights(const MoeWeights& weights, const ModelConfig& config, std::int64_t layer) {
  const std::int64_t experts = config.num_local_experts, hidden = config.hidden_size;
  const std::int64_t width = config.intermediate_size;
  const std::string where = "layer " + std::to_string(layer) + " MoE ";
  expect_shape(weights.router, {experts, hidden}, where + "router");
  expect_shape(weights.gate_up_proj,
               expert_shape(weights.gate_up_proj.dtype(), experts, hidden, 2 * width),
               where + "experts.gate_up_proj");
  expect_shape(weights.down_proj, expert_shape(weights.down_proj.dtype(), experts, width, hidden),
               where + "experts.down_proj");
}

namespace {

Tensor load_experts(const Checkpoint& checkpoint, const std::string& name, std::int64_t experts,
                    std::int64_t in, std::int64_t out) {
  const DType stored = checkpoint.contains(name) ? checkpoint.entry(name).dtype : DType::BF16;
  return load_weight(checkpoint, name, expert_shape(stored, experts, in, out));
}

// x · W for one expert's matrix: W is [in, out] as stored, or [out, in] once quantized.
Tensor expert_product(const Tensor& x, const Tensor& weight) {
  return is_block_quantized(weight.dtype()) ? linear(x, weight) : matmul(x, weight);
}

}  // namespace

MoeLayer::MoeLayer(const ModelConfig& config, std::int64_t layer, const Checkpoint& checkpoint,
                   const WeightNames& names)
    : MoeLayer(
          config, layer,
          MoeWeights{
              load_weight(checkpoint, names.layer(layer, "feed_forward.router.weight"),
                          {config.num_local_experts, config.hidden_size}),
              load_experts(checkpoint, names.layer(layer, "feed_forward.experts.gate_up_proj"),
                           config.num_local_experts, config.hidden_size,
                           2 * config.intermediate_size),
              load_experts(checkpoint, names.layer(layer, "feed_forward.experts.down_proj"),
                           config.num_local_experts, config.intermediate_size, config.hidden_size),
              FeedForward::load(checkpoint, names.layer(layer, "feed_forward.shared_expert."),
                                config.hidden_size, config.intermediate_size)}) {}

// [excerpt expert]
Tensor MoeLayer::expert(std::int64_t expert_index, const Tensor& x) const {
  const Tensor gate_up = expert_product(x, weights_.gate_up_proj.select(expert_index));  // [n, 2I]
  const std::int64_t rows = x.dim(0);
  Tensor hidden = Tensor::zeros({rows, width_});  // [n, I] = silu(gate) ⊙ up
  const float* gu = gate_up.data<float>();
  float* h = hidden.mutable_data<float>();
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* gate = gu + r * 2 * width_;  // first half of the row
    const float* up = gate + width_;          // second half
    for (std::int64_t c = 0; c < width_; ++c) h[r * width_ + c] = silu(gate[c]) * up[c];
  }
  return expert_product(hidden, weights_.down_proj.select(expert_index));  // [n, H]
}
// [end excerpt]

// [excerpt moe_forward]
Tensor MoeLayer::forward(const Tensor& x, ActivationRecorder* recorder) const {
  const std::int64_t tokens = x.dim(0);
  const RouterChoice choice = route_tokens(x, weights_.router, top_k_);
  const Tensor routed = this->routed(x, choice, /*first_expert=*/0);  // [T, H]
  const float* routed_data = routed.data<float>();

  Tensor result = weights_.shared_expert.forward(x);  // [T, H]
  // [excerpt pause]
  if (recorder != nullptr) {
    Tensor index = Tensor::zeros({tokens, top_k_}, DType::I32);
    Tensor score = Tensor::zeros({tokens, top_k_});
    std::memcpy(index.mutable_data<std::int32_t>(), choice.expert_index.data(), index.nbytes());
    std::memcpy(score.mutable_data<float>(), choice.expert_score.data(), score.nbytes());
    recorder->record(layer_, "router_logits", choice.logits);
    recorder->record(layer_, "expert_index", index);
    recorder->record(layer_, "expert_score", score);
    recorder->record(layer_, "routed_out", routed);
    recorder->record(layer_, "shared_out", result);
  }
  // [excerpt resume]
  float* result_data = result.mutable_data<float>();
  const std::int64_t count = result.numel();  // once: a call in the loop condition runs every time
  for (std::int64_t i = 0; i < count; ++i) result_data[i] += routed_data[i];
  return result;
}
// [end excerpt]

// [excerpt moe_routed]
Tensor MoeLayer::routed(const Tensor& x, const RouterChoice& choice,
                        std::int64_t first_expert) const {
  const std::int64_t tokens = x.dim(0), hidden = x.dim(1);
  const std::int64_t experts = weights_.gate_up_proj.dim(0);  // the experts this layer holds

  // routed[t] = Σ over t's chosen experts e of expert_e(score · x[t]), one expert at a time.
  Tensor routed = Tensor::zeros({tokens, hidden});  // [T, H]
  float* routed_data = routed.mutable_data<float>();
  const float* x_data = x.data<float>();
  for (std::int64_t e = 0; e < experts; ++e) {
    // Gather the tokens routed to e, each scaled by its router score.
    std::vector<std::int64_t> rows;
    std::vector<float> scores;
    for (std::size_t slot = 0; slot < choice.expert_index.size(); ++slot) {
      if (choice.expert_index[slot] != first_expert + e) continue;
      rows.push_back(static_cast<std::int64_t>(slot) / choice.top_k);
      scores.push_back(choice.expert_score[slot]);
    }
    if (rows.empty()) continue;
    Tensor expert_input =
        Tensor::zeros({static_cast<std::int64_t>(rows.size()), hidden});  // [n, H]
    float* in = expert_input.mutable_data<float>();
    for (std::size_t n = 0; n < rows.size(); ++n) {
      for (std::int64_t i = 0; i < hidden; ++i)
        in[n * hidden + i] = scores[n] * x_data[rows[n] * hidden + i];
    }
    const Tensor expert_output = expert(e, expert_input);  // [n, H]
    const float* out = expert_output.data<float>();
    for (std::size_t n = 0; n < rows.size(); ++n) {  // scatter back, adding
      for (std::int64_t i = 0; i < hidden; ++i)
        routed_data[rows[n] * hidden + i] += out[n * hidden + i];
    }
  }
  return routed;
}
// [end excerpt]

Tensor MoeLayer::forward_every_expert(const Tensor& x) const {
  const std::int64_t tokens = x.dim(0), hidden = x.dim(1);
  const std::int64_t experts = weights_.router.dim(0);
  const RouterChoice choice = route_tokens(x, weights_.router, top_k_);
  Tensor result = weights_.shared_expert.forward(x);
  float* result_data = result.mutable_data<float>();
  for (std::int64_t e = 0; e < experts; ++e) {
    // Scores for expert e: sigmoid(logit) if chosen, else sigmoid(-inf) = 0 (HF's scatter of -inf).
    Tensor scaled = x.clone();
    float* data = scaled.mutable_data<float>();
    for (std::int64_t t = 0; t < tokens; ++t) {
      float score = 0.0f;
      for (std::int64_t i = 0; i < top_k_; ++i) {
        const auto slot = static_cast<std::size_t>(t * top_k_ + i);
        if (choice.expert_index[slot] == e) score = choice.expert_score[slot];
      }
      for (std::int64_t i = 0; i < hidden; ++i) data[t * hidden + i] *= score;
    }
    const Tensor out = expert(e, scaled);  // zero rows in give exactly zero out: no biases
    const float* out_data = out.data<float>();
    for (std::int64_t i = 0; i < tokens * hidden; ++i) result_data[i] += out_data[i];
  }
  return result;
}

}  // namespace llama4
