#include "common/training/decoder_layer_backward.hpp"

#include "common/layers/decoder_layer.hpp"
#include "common/layers/rms_norm.hpp"
#include "common/training/rms_norm_backward.hpp"

namespace llama4 {
namespace {

void record(ActivationRecorder* recorder, std::int64_t layer, const char* stage,
            const Tensor& tensor) {
  if (recorder != nullptr) recorder->record(layer, stage, tensor);
}

}  // namespace

Tensor decoder_layer_forward(const DecoderLayerSettings& settings,
                             const DecoderLayerWeights& weights, const Tensor& x,
                             DecoderLayerActivations& saved, ActivationRecorder* recorder) {
  const std::int64_t layer = settings.layer;
  const float eps = settings.attention.norm_eps;
  saved.input = x;
  const Tensor normed = rms_norm(x, weights.input_norm, eps);
  record(recorder, layer, "attn_norm", normed);
  Tensor attention_out = Tensor::zeros(x.shape());
  attention_block_forward(settings.attention, weights.attention, normed, saved.attention,
                          attention_out, layer, recorder);
  record(recorder, layer, "attn_out", attention_out);
  saved.residual = attention_out;  // r = x + attention(...), reusing the buffer
  add_into(saved.residual, x);
  record(recorder, layer, "attn_residual", saved.residual);

  saved.ffn_input = rms_norm(saved.residual, weights.post_attention_norm, eps);
  record(recorder, layer, "ffn_norm", saved.ffn_input);
  Tensor out = Tensor::zeros(x.shape());
  if (weights.moe) {
    moe_forward(*weights.moe, settings.top_k, saved.ffn_input, saved.moe, out, layer, recorder);
  } else {
    feed_forward_forward(*weights.mlp, saved.ffn_input, saved.mlp, out);
    record(recorder, layer, "mlp_out", out);
  }
  record(recorder, layer, "ffn_out", out);
  add_into(out, saved.residual);
  record(recorder, layer, "output", out);
  return out;
}

Tensor decoder_layer_backward(const DecoderLayerSettings& settings,
                              const DecoderLayerWeights& weights,
                              const DecoderLayerActivations& saved, const Tensor& dout,
                              DecoderLayerWeights& gradients,
                              ActivationRecorder* gradient_recorder) {
  const std::int64_t layer = settings.layer;
  const float eps = settings.attention.norm_eps;
  record(gradient_recorder, layer, "output", dout);
  record(gradient_recorder, layer, "ffn_out", dout);

  // The feed-forward block: dr = dout + rms_norm_backward(ffn_backward(dout)).
  Tensor dffn_input = Tensor::zeros(dout.shape());
  if (weights.moe) {
    moe_backward(*weights.moe, saved.moe, dout, dffn_input, *gradients.moe, layer,
                 gradient_recorder);
  } else {
    record(gradient_recorder, layer, "mlp_out", dout);
    feed_forward_backward(*weights.mlp, saved.mlp, dout, dffn_input, Gradient::overwrite,
                          *gradients.mlp);
  }
  record(gradient_recorder, layer, "ffn_norm", dffn_input);
  Tensor dresidual = Tensor::zeros(dout.shape());
  rms_norm_backward(saved.residual, weights.post_attention_norm, eps, dffn_input, dresidual,
                    gradients.post_attention_norm);
  add_into(dresidual, dout);
  record(gradient_recorder, layer, "attn_residual", dresidual);
  record(gradient_recorder, layer, "attn_out", dresidual);

  // The attention block: dx = dr + rms_norm_backward(attention_backward(dr)).
  Tensor dnormed = Tensor::zeros(dout.shape());
  attention_block_backward(settings.attention, weights.attention, saved.attention, dresidual,
                           dnormed, gradients.attention, layer, gradient_recorder);
  record(gradient_recorder, layer, "attn_norm", dnormed);
  Tensor dx = Tensor::zeros(dout.shape());
  rms_norm_backward(saved.input, weights.input_norm, eps, dnormed, dx, gradients.input_norm);
  add_into(dx, dresidual);
  return dx;
}

}  // namespace llama4
