// One decoder layer for training: the two pre-norm residual blocks, forward and backward.
//
//   r   = x + attention(rms_norm(x, w_in))          the attention block (attention_block.hpp)
//   out = r + ffn(rms_norm(r, w_post))              MoE (moe_backward.hpp) or dense SwiGLU
//                                                   (feed_forward_backward.hpp)
//
// Backward, from dout:
//   dr = dout + rms_norm_backward(r, w_post, ffn_backward(dout))
//   dx = dr   + rms_norm_backward(x, w_in, attention_backward(dr))
// A residual connection copies its gradient to both branches: the "+ dout" and "+ dr" terms are
// the gradient flowing straight down the residual stream, which is why deep stacks still train.
#pragma once

#include <cstdint>
#include <optional>

#include "common/layers/feed_forward.hpp"
#include "common/layers/moe.hpp"
#include "common/training/attention_block.hpp"
#include "common/training/moe_backward.hpp"

namespace llama4 {

// A layer's weights, or their gradients (the same shapes).
struct DecoderLayerWeights {
  Tensor input_norm;           // [H]
  Tensor post_attention_norm;  // [H]
  AttentionWeights attention;
  std::optional<MoeWeights> moe;   // MoE layers
  std::optional<FeedForward> mlp;  // dense layers
};

struct DecoderLayerActivations {
  Tensor input;     // [N, H] x
  Tensor residual;  // [N, H] r
  AttentionBlockActivations attention;
  Tensor ffn_input;  // [N, H] rms_norm(r)
  MoeActivations moe;
  FeedForwardActivations mlp;
};

struct DecoderLayerSettings {
  std::int64_t layer = 0;
  std::int64_t top_k = 1;
  AttentionBlockSettings attention;
};

// x: [N, H] -> returns [N, H].
Tensor decoder_layer_forward(const DecoderLayerSettings& settings,
                             const DecoderLayerWeights& weights, const Tensor& x,
                             DecoderLayerActivations& saved, ActivationRecorder* recorder);

// dout: [N, H] -> returns dx: [N, H]; adds the weights' gradients to `gradients`.
Tensor decoder_layer_backward(const DecoderLayerSettings& settings,
                              const DecoderLayerWeights& weights,
                              const DecoderLayerActivations& saved, const Tensor& dout,
                              DecoderLayerWeights& gradients,
                              ActivationRecorder* gradient_recorder);

}  // namespace llama4
