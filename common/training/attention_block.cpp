#include "common/training/attention_block.hpp"

#include "common/layers/attention_temperature.hpp"
#include "common/layers/rms_norm.hpp"
#include "common/layers/rope.hpp"
#include "common/training/linear.hpp"
#include "common/training/rms_norm_backward.hpp"

namespace llama4 {
namespace {

// Calls f(rows of one document) for each document of each sequence: every document starts at
// position 0, so RoPE and the temperature restart for each. (A sequence is one document unless
// chapter 13 packed several into it.)
template <class Function>
void for_each_document(const AttentionShape& shape, Tensor& x, Function f) {
  for (std::int64_t b = 0; b < shape.sequences; ++b) {
    std::int64_t start = 0;
    for (std::int64_t i = 1; i <= shape.tokens; ++i) {
      if (i == shape.tokens || document_position(shape, b, i) == 0) {
        Tensor rows = x.slice(0, b * shape.tokens + start, b * shape.tokens + i);
        f(rows);
        start = i;
      }
    }
  }
}

void record(ActivationRecorder* recorder, std::int64_t layer, const char* stage,
            const Tensor& tensor) {
  if (recorder != nullptr) recorder->record(layer, stage, tensor);
}

}  // namespace

AttentionBlockSettings::AttentionBlockSettings(const ModelConfig& config, std::int64_t layer,
                                               std::int64_t sequences, std::int64_t tokens,
                                               const std::vector<float>& frequencies,
                                               std::span<const std::int32_t> positions)
    : kind(config.layer(layer)),
      shape{sequences,
            tokens,
            config.num_attention_heads,
            config.num_key_value_heads,
            config.head_dim,
            kind.chunked_attention ? config.attention_chunk_size : std::nullopt,
            positions},
      norm_eps(static_cast<float>(config.rms_norm_eps)),
      floor_scale(config.floor_scale),
      attn_scale(config.attn_scale),
      inverse_frequencies(&frequencies) {}

void attention_block_forward(const AttentionBlockSettings& settings,
                             const AttentionWeights& weights, const Tensor& x,
                             AttentionBlockActivations& saved, Tensor& out, std::int64_t layer,
                             ActivationRecorder* recorder) {
  const AttentionShape& s = settings.shape;
  const std::int64_t rows = x.dim(0), D = s.head_dim;
  saved.input = x;
  saved.q = Tensor::zeros({rows, s.heads, D});
  saved.k = Tensor::zeros({rows, s.kv_heads, D});
  saved.v = Tensor::zeros({rows, s.kv_heads, D});
  Tensor q2 = saved.q.reshape({rows, s.heads * D}), k2 = saved.k.reshape({rows, s.kv_heads * D});
  Tensor v2 = saved.v.reshape({rows, s.kv_heads * D});
  linear_forward(x, weights.q_proj, q2);
  linear_forward(x, weights.k_proj, k2);
  linear_forward(x, weights.v_proj, v2);
  record(recorder, layer, "q", saved.q);
  record(recorder, layer, "k", saved.k);
  record(recorder, layer, "v", saved.v);

  if (settings.kind.uses_rope) {
    const auto rope = [&](Tensor& t) { apply_rope(t, 0, *settings.inverse_frequencies); };
    for_each_document(s, saved.q, rope);
    for_each_document(s, saved.k, rope);
    record(recorder, layer, "q_rope", saved.q);
    record(recorder, layer, "k_rope", saved.k);
    if (settings.kind.uses_qk_norm) {
      saved.q_rope = saved.q.clone();  // the QK norm's backward needs its input
      saved.k_rope = saved.k.clone();
      qk_norm(saved.q, settings.norm_eps);
      qk_norm(saved.k, settings.norm_eps);
      record(recorder, layer, "q_norm", saved.q);
      record(recorder, layer, "k_norm", saved.k);
    }
  } else if (settings.kind.uses_temperature_tuning) {
    for_each_document(s, saved.q, [&](Tensor& t) {
      apply_attention_temperature(t, 0, settings.floor_scale, settings.attn_scale);
    });
    record(recorder, layer, "q_temperature", saved.q);
  }

  saved.context = Tensor::zeros({rows, s.heads * D});
  saved.probabilities = Tensor::zeros({s.sequences, s.heads, s.tokens, s.tokens});
  attention_forward(s, saved.q, saved.k, saved.v, saved.context, saved.probabilities);
  record(recorder, layer, "attn_context", saved.context);
  linear_forward(saved.context, weights.o_proj, out);
}

void attention_block_backward(const AttentionBlockSettings& settings,
                              const AttentionWeights& weights,
                              const AttentionBlockActivations& saved, const Tensor& dout,
                              Tensor& dx, AttentionWeights& gradients, std::int64_t layer,
                              ActivationRecorder* gradient_recorder) {
  const AttentionShape& s = settings.shape;
  const std::int64_t rows = dout.dim(0), D = s.head_dim;
  Tensor dcontext = Tensor::zeros({rows, s.heads * D});
  linear_backward(saved.context, weights.o_proj, dout, &dcontext, Gradient::overwrite,
                  gradients.o_proj);
  record(gradient_recorder, layer, "attn_context", dcontext);

  Tensor dq = Tensor::zeros(saved.q.shape());
  Tensor dk = Tensor::zeros(saved.k.shape());
  Tensor dv = Tensor::zeros(saved.v.shape());
  attention_backward(s, saved.q, saved.k, saved.v, saved.probabilities, dcontext, dq, dk, dv);
  record(gradient_recorder, layer, "v", dv);

  if (settings.kind.uses_rope) {
    if (settings.kind.uses_qk_norm) {
      record(gradient_recorder, layer, "q_norm", dq);
      record(gradient_recorder, layer, "k_norm", dk);
      qk_norm_backward(saved.q_rope, settings.norm_eps, dq);
      qk_norm_backward(saved.k_rope, settings.norm_eps, dk);
    }
    record(gradient_recorder, layer, "q_rope", dq);
    record(gradient_recorder, layer, "k_rope", dk);
    const auto unrotate = [&](Tensor& t) {
      apply_rope(t, 0, *settings.inverse_frequencies, Rotation::backward);
    };
    for_each_document(s, dq, unrotate);
    for_each_document(s, dk, unrotate);
  } else if (settings.kind.uses_temperature_tuning) {
    record(gradient_recorder, layer, "q_temperature", dq);
    for_each_document(s, dq, [&](Tensor& t) {
      apply_attention_temperature(t, 0, settings.floor_scale, settings.attn_scale);
    });
  }
  record(gradient_recorder, layer, "q", dq);
  record(gradient_recorder, layer, "k", dk);

  const Tensor dq2 = dq.reshape({rows, s.heads * D}), dk2 = dk.reshape({rows, s.kv_heads * D});
  const Tensor dv2 = dv.reshape({rows, s.kv_heads * D});
  linear_backward(saved.input, weights.q_proj, dq2, &dx, Gradient::overwrite, gradients.q_proj);
  linear_backward(saved.input, weights.k_proj, dk2, &dx, Gradient::add, gradients.k_proj);
  linear_backward(saved.input, weights.v_proj, dv2, &dx, Gradient::add, gradients.v_proj);
}

}  // namespace llama4
