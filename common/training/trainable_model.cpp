#include "common/training/trainable_model.hpp"

#include <algorithm>

#include "common/layers/embedding.hpp"
#include "common/layers/rms_norm.hpp"
#include "common/layers/rope.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/error.hpp"
#include "common/training/cross_entropy.hpp"
#include "common/training/embedding_backward.hpp"
#include "common/training/linear.hpp"
#include "common/training/rms_norm_backward.hpp"

namespace llama4 {

struct TrainableModel::Pass {
  std::int64_t sequences = 0, tokens = 0;     // B, T
  std::vector<std::int32_t> inputs, targets;  // [B·T] each
  std::span<const std::int32_t> positions;    // [B·T] or empty
  std::span<const std::uint8_t> loss_mask;    // [B·T] or empty
  std::vector<DecoderLayerSettings> settings;
  std::vector<DecoderLayerActivations> layers;
  Tensor final_input;  // [N, H] the last layer's output
  Tensor final_norm;   // [N, H]
  Tensor logits;       // [N, V], then its gradient
};

TrainableModel::TrainableModel(ModelConfig config)
    : config_(std::move(config)),
      inverse_frequencies_(
          rope_inverse_frequencies(config_.head_dim, config_.rope_theta, config_.rope_scaling)) {
  for (const WeightShape& weight : text_model_weights(config_)) {
    parameters_.add(weight.name, weight.shape, weight.kind != WeightShape::Kind::norm);
  }
  bind();
}

void TrainableModel::bind() {
  for (Views* views : {&weights_, &gradients_}) {
    const bool value = views == &weights_;
    const auto get = [&](const std::string& name) {
      return value ? parameters_.value(name) : parameters_.gradient(name);
    };
    views->embedding = get("model.embed_tokens.weight");
    views->final_norm = get("model.norm.weight");
    views->lm_head = config_.tie_word_embeddings ? views->embedding : get("lm_head.weight");
    views->layers.clear();
    for (std::int64_t l = 0; l < config_.num_hidden_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      DecoderLayerWeights layer;
      layer.input_norm = get(p + "input_layernorm.weight");
      layer.post_attention_norm = get(p + "post_attention_layernorm.weight");
      layer.attention = {get(p + "self_attn.q_proj.weight"), get(p + "self_attn.k_proj.weight"),
                         get(p + "self_attn.v_proj.weight"), get(p + "self_attn.o_proj.weight")};
      const std::string f = p + "feed_forward.";
      if (config_.layer(l).is_moe) {
        layer.moe = MoeWeights{get(f + "router.weight"), get(f + "experts.gate_up_proj"),
                               get(f + "experts.down_proj"),
                               FeedForward{get(f + "shared_expert.gate_proj.weight"),
                                           get(f + "shared_expert.up_proj.weight"),
                                           get(f + "shared_expert.down_proj.weight")}};
      } else {
        layer.mlp = FeedForward{get(f + "gate_proj.weight"), get(f + "up_proj.weight"),
                                get(f + "down_proj.weight")};
      }
      views->layers.push_back(std::move(layer));
    }
  }
}

void TrainableModel::load_weights(const Checkpoint& checkpoint) {
  const WeightNames names(checkpoint);  // finds the "language_model." prefix, if any
  for (const ParameterInfo& info : parameters_.infos()) {
    const Tensor source = load_weight(checkpoint, names.prefix() + info.name, info.shape);
    const Tensor widened = source.to(DType::F32);
    Tensor destination = parameters_.value(info.name);
    std::copy_n(widened.data<float>(), info.size, destination.mutable_data<float>());
  }
}

Checkpoint TrainableModel::checkpoint() {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const ParameterInfo& info : parameters_.infos()) {
    tensors.emplace_back(info.name, parameters_.value(info.name));
  }
  return Checkpoint::from_tensors("the model being trained", std::move(tensors));
}

void TrainableModel::forward(const TrainingBatch& batch, Pass& pass, ActivationRecorder* recorder) {
  const std::span<const std::int32_t> tokens = batch.tokens;
  const std::int64_t sequences = batch.sequences;
  if (sequences <= 0 || tokens.size() % static_cast<std::size_t>(sequences) != 0) {
    fail("training batch: ", tokens.size(), " ids do not split into ", sequences,
         " sequences of equal length");
  }
  const auto length = static_cast<std::int64_t>(tokens.size()) / sequences;  // T + 1
  if (length < 2) fail("training batch: sequences of ", length, " ids predict nothing");
  pass.sequences = sequences;
  pass.tokens = length - 1;
  const std::int64_t T = pass.tokens, rows = sequences * T;
  for (const auto& [size, what] : {std::pair{batch.positions.size(), "positions"},
                                   std::pair{batch.loss_mask.size(), "loss-mask flags"}}) {
    if (size != 0 && static_cast<std::int64_t>(size) != rows) {
      fail("training batch: ", size, " ", what, " for ", sequences, " sequences of ", T, " inputs");
    }
  }
  pass.positions = batch.positions;
  pass.loss_mask = batch.loss_mask;
  pass.inputs.clear();
  pass.targets.clear();
  for (std::int64_t b = 0; b < sequences; ++b) {
    const std::int32_t* sequence = tokens.data() + b * length;
    pass.inputs.insert(pass.inputs.end(), sequence, sequence + T);
    pass.targets.insert(pass.targets.end(), sequence + 1, sequence + length);
  }

  Tensor x = Tensor::zeros({rows, config_.hidden_size});
  embed_tokens(pass.inputs, weights_.embedding, x);
  if (recorder != nullptr) recorder->record("embedding", x);
  pass.settings.clear();
  pass.layers.assign(static_cast<std::size_t>(config_.num_hidden_layers), {});
  for (std::int64_t l = 0; l < config_.num_hidden_layers; ++l) {
    pass.settings.push_back(
        {l, config_.num_experts_per_tok,
         AttentionBlockSettings(config_, l, sequences, T, inverse_frequencies_, pass.positions)});
    x = decoder_layer_forward(pass.settings.back(), weights_.layers[static_cast<std::size_t>(l)], x,
                              pass.layers[static_cast<std::size_t>(l)], recorder);
  }
  pass.final_input = x;
  pass.final_norm = rms_norm(x, weights_.final_norm, static_cast<float>(config_.rms_norm_eps));
  if (recorder != nullptr) recorder->record("final_norm", pass.final_norm);
  pass.logits = Tensor::zeros({rows, config_.vocab_size});
  linear_forward(pass.final_norm, weights_.lm_head, pass.logits);
  if (recorder != nullptr) recorder->record("logits", pass.logits);
}

double TrainableModel::loss(std::span<const std::int32_t> tokens, std::int64_t sequences) {
  return loss(TrainingBatch{tokens, sequences});
}

double TrainableModel::loss(const TrainingBatch& batch) {
  Pass pass;
  forward(batch, pass, nullptr);
  return cross_entropy(pass.logits, pass.targets, nullptr, pass.loss_mask);
}

Tensor TrainableModel::logits(const TrainingBatch& batch) {
  Pass pass;
  forward(batch, pass, nullptr);
  return pass.logits;
}

double TrainableModel::forward_backward(std::span<const std::int32_t> tokens,
                                        std::int64_t sequences, ActivationRecorder* activations,
                                        ActivationRecorder* gradients) {
  return forward_backward(TrainingBatch{tokens, sequences}, activations, gradients);
}

double TrainableModel::forward_backward(const TrainingBatch& batch, ActivationRecorder* activations,
                                        ActivationRecorder* gradients) {
  Pass pass;
  forward(batch, pass, activations);
  parameters_.zero_gradients();

  // The loss, and its gradient with respect to the logits (in place: the logits are not needed
  // again). Targets outside the loss mask get a zero gradient, so nothing below learns from them.
  const double mean_loss = cross_entropy(pass.logits, pass.targets, &pass.logits, pass.loss_mask);
  const Tensor& dlogits = pass.logits;
  if (gradients != nullptr) gradients->record("logits", dlogits);

  Tensor dnormed = Tensor::zeros(pass.final_norm.shape());
  linear_backward(pass.final_norm, weights_.lm_head, dlogits, &dnormed, Gradient::overwrite,
                  gradients_.lm_head);
  if (gradients != nullptr) gradients->record("final_norm", dnormed);
  Tensor dx = Tensor::zeros(pass.final_input.shape());
  rms_norm_backward(pass.final_input, weights_.final_norm, static_cast<float>(config_.rms_norm_eps),
                    dnormed, dx, gradients_.final_norm);

  for (std::int64_t l = config_.num_hidden_layers - 1; l >= 0; --l) {
    const auto i = static_cast<std::size_t>(l);
    dx = decoder_layer_backward(pass.settings[i], weights_.layers[i], pass.layers[i], dx,
                                gradients_.layers[i], gradients);
    pass.layers[i] = {};  // free this layer's activations as soon as they are used
  }
  if (gradients != nullptr) gradients->record("embedding", dx);
  embedding_backward(pass.inputs, dx, gradients_.embedding);
  return mean_loss;
}

}  // namespace llama4
