// The mixture-of-experts layer for training: forward with what the backward needs, and backward.
//
// Forward (layers/moe.hpp): for each token t and each of its top-k experts e with router logit l,
//     s          = sigmoid(l)                       the router score
//     in         = s · x[t]                         the score scales the expert's INPUT
//     gate, up   = in · W_gate_up[e]                input-major: [H, 2I], gate first
//     h          = silu(gate) ⊙ up
//     routed[t] += h · W_down[e]                    [I, H]
//     y[t]       = shared_expert(x[t]) + routed[t]
//
// Backward, from dy:
//   - the shared expert: feed_forward_backward (dy reaches it unchanged);
//   - each expert e on its tokens: dh = dy · W_down[e]ᵀ, then swiglu_backward, then
//     din = d(gate|up) · W_gate_up[e]ᵀ; the weight gradients sum over the expert's tokens;
//   - through the input scaling in = s · x: dx[t] += s · din, and ds = din · x[t];
//   - through the sigmoid: dl = ds · s · (1 - s);
//   - the router: logits = x · W_routerᵀ, so dx += dlogits · W_router, dW_router += dlogitsᵀ · x,
//     where dlogits is dl at the chosen experts and 0 elsewhere.
// The choice itself (top-k) is a step function: it has no gradient. The router still learns,
// through the score, because the score scales what the expert sees; this is exactly what
// PyTorch's autograd does with torch.topk, and what the golden gradients check.
#pragma once

#include <cstdint>
#include <vector>

#include "common/debugging/activation_recorder.hpp"
#include "common/layers/moe.hpp"
#include "common/layers/moe_router.hpp"
#include "common/training/feed_forward_backward.hpp"

namespace llama4 {

struct ExpertActivations {
  std::vector<std::int64_t> slots;  // the (token · top_k + k) slots routed to this expert
  Tensor input;                     // [n, H]  score · x[token]
  Tensor gate_up;                   // [n, 2I] before silu
  Tensor hidden;                    // [n, I]  silu(gate) ⊙ up
};

struct MoeActivations {
  Tensor input;  // [N, H]
  RouterChoice choice;
  std::vector<ExpertActivations> experts;  // one per expert
  FeedForwardActivations shared;
};

// x: [N, H] -> y: [N, H]. weights in f32. `layer` names recorded tensors ("layers.<l>.routed_out").
void moe_forward(const MoeWeights& weights, std::int64_t top_k, const Tensor& x,
                 MoeActivations& saved, Tensor& y, std::int64_t layer = 0,
                 ActivationRecorder* recorder = nullptr);

// dy: [N, H] -> dx: [N, H] (overwritten); gradients has the weights' shapes and is added to.
// gradient_recorder, if given, receives the gradients of router_logits, expert_score,
// routed_out and shared_out under the golden data's names.
void moe_backward(const MoeWeights& weights, const MoeActivations& saved, const Tensor& dy,
                  Tensor& dx, MoeWeights& gradients, std::int64_t layer = 0,
                  ActivationRecorder* gradient_recorder = nullptr);

}  // namespace llama4
