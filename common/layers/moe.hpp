// The mixture-of-experts feed-forward layer of Llama 4.
//
// Instead of one big MLP, an MoE layer has E experts (16 in Scout, 128 in Maverick), each a SwiGLU
// MLP of width I, plus one SHARED expert that every token goes through. The router (moe_router.hpp)
// picks one expert per token; only that expert runs for that token. So a token pays for 2 experts'
// worth of compute while the layer holds E + 1 experts' worth of knowledge.
//
//   choice      = route_tokens(x)                       top-1 expert e_t and score g_t per token
//   routed[t]   = expert_{e_t}( g_t · x[t] )            the score scales the expert's INPUT
//   shared[t]   = shared_expert( x[t] )
//   out[t]      = shared[t] + routed[t]
//
// The Llama 4 trap: g_t multiplies the input of the expert, not its output. Because of the SiLU
// inside, expert(g·x) != g·expert(x). Several implementations scaled the output (Mixtral style) and
// produced subtly wrong text (vLLM #16744, sglang #7889); a test in chapter 07 shows our golden
// comparison catches exactly that mistake.
//
// Checkpoint layout of the routed experts, all E in one tensor each, stored INPUT-MAJOR (x · W, not
// nn.Linear's x · Wᵀ):
//   experts.gate_up_proj  [E, H, 2I]   columns 0..I-1 are the gate, I..2I-1 the up projection
//   experts.down_proj     [E, I, H]
// Swapping gate and up, or reading them as [out, in], runs without error and gives garbage.
// (Quantized experts, chapter 12, are the exception: stored [E, 2I, H] and [E, H, I], [out, in],
// because their blocks run along the input dimension. The dtype says which layout a tensor has.)
//
// We compute it sparsely: gather the tokens routed to each expert and run only that expert on them.
// HF (and Meta) run every expert on every token with zero scores for the others;
// forward_every_expert() does that too, as the reference the sparse version is tested against.
#pragma once

#include <cstdint>

#include "common/debugging/activation_recorder.hpp"
#include "common/layers/feed_forward.hpp"
#include "common/layers/moe_router.hpp"
#include "common/tensors/checkpoint.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {

struct MoeWeights {
  Tensor router;        // [E, H]
  Tensor gate_up_proj;  // [E, H, 2I]
  Tensor down_proj;     // [E, I, H]
  FeedForward shared_expert;
};

// Checks the router's and the stacked experts' shapes against layer `layer` of `config`; an error
// names the layer and the tensor. Used by the CPU layer and by the GPU one (gpu/gpu_layers.cpp).
void check_moe_weights(const MoeWeights& weights, const ModelConfig& config, std::int64_t layer);

class MoeLayer {
 public:
  MoeLayer(const ModelConfig& config, std::int64_t layer, const Checkpoint& checkpoint,
           const WeightNames& names);
  MoeLayer(const ModelConfig& config, std::int64_t layer, MoeWeights weights);

  // x: [T, H] (post-attention-normed) -> [T, H]: shared expert + routed experts.
  Tensor forward(const Tensor& x, ActivationRecorder* recorder = nullptr) const;

  // The same result computed the HF way: every expert on every token, with score 0 for the experts
  // a token was not routed to. E times the work; for tests.
  Tensor forward_every_expert(const Tensor& x) const;

  // The routed experts' part of forward(): x: [T, H] -> [T, H], from the router's `choice`.
  // first_expert is the model-wide index of this layer's first expert: 0 when it holds them all;
  // with expert parallelism (chapter 14) a rank's layer holds a slice of the experts, the choice
  // comes from the whole router, and tokens routed to other ranks' experts are left out.
  Tensor routed(const Tensor& x, const RouterChoice& choice, std::int64_t first_expert) const;

  // One routed expert on its (already scaled) inputs: x: [n, H] -> [n, H].
  Tensor expert(std::int64_t expert_index, const Tensor& x) const;

  const MoeWeights& weights() const { return weights_; }

 private:
  std::int64_t layer_;
  std::int64_t top_k_;
  std::int64_t width_;  // I
  MoeWeights weights_;
};

}  // namespace llama4
