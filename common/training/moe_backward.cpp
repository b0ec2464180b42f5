#include "common/training/moe_backward.hpp"

#include <cstring>

#include "common/training/linear.hpp"

namespace llama4 {
namespace {

// rows[i] of x, scaled: out[i, :] = scale[i] · x[rows[i], :]
void gather_scaled(const Tensor& x, const std::vector<std::int64_t>& rows,
                   const std::vector<float>& scale, Tensor& out) {
  const std::int64_t hidden = x.dim(1);
  const float* in = x.data<float>();
  float* o = out.mutable_data<float>();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (std::int64_t c = 0; c < hidden; ++c)
      o[i * hidden + c] = scale[i] * in[rows[i] * hidden + c];
  }
}

}  // namespace

void moe_forward(const MoeWeights& weights, std::int64_t top_k, const Tensor& x,
                 MoeActivations& saved, Tensor& y, std::int64_t layer,
                 ActivationRecorder* recorder) {
  const std::int64_t tokens = x.dim(0), hidden = x.dim(1);
  const std::int64_t experts = weights.router.dim(0), width = weights.down_proj.dim(1);
  saved.input = x;
  saved.choice = route_tokens(x, weights.router, top_k);  // the inference router, unchanged
  saved.experts.assign(static_cast<std::size_t>(experts), {});
  for (std::size_t slot = 0; slot < saved.choice.expert_index.size(); ++slot) {
    saved.experts[static_cast<std::size_t>(saved.choice.expert_index[slot])].slots.push_back(
        static_cast<std::int64_t>(slot));
  }
  Tensor routed = Tensor::zeros({tokens, hidden});
  float* routed_data = routed.mutable_data<float>();
  for (std::int64_t e = 0; e < experts; ++e) {
    ExpertActivations& expert = saved.experts[static_cast<std::size_t>(e)];
    const auto n = static_cast<std::int64_t>(expert.slots.size());
    std::vector<std::int64_t> rows;
    std::vector<float> scores;
    for (const std::int64_t slot : expert.slots) {
      rows.push_back(slot / top_k);
      scores.push_back(saved.choice.expert_score[static_cast<std::size_t>(slot)]);
    }
    expert.input = Tensor::zeros({n, hidden});
    gather_scaled(x, rows, scores, expert.input);
    expert.gate_up = Tensor::zeros({n, 2 * width});
    matmul_forward(expert.input, weights.gate_up_proj.select(e), expert.gate_up);
    expert.hidden = Tensor::zeros({n, width});
    const float* gu = expert.gate_up.data<float>();
    float* h = expert.hidden.mutable_data<float>();
    for (std::int64_t r = 0; r < n; ++r) {
      for (std::int64_t c = 0; c < width; ++c) {
        h[r * width + c] = silu(gu[r * 2 * width + c]) * gu[r * 2 * width + width + c];
      }
    }
    Tensor out = Tensor::zeros({n, hidden});
    matmul_forward(expert.hidden, weights.down_proj.select(e), out);
    const float* o = out.data<float>();
    for (std::int64_t r = 0; r < n; ++r) {  // scatter back, adding
      for (std::int64_t c = 0; c < hidden; ++c)
        routed_data[rows[r] * hidden + c] += o[r * hidden + c];
    }
  }
  feed_forward_forward(weights.shared_expert, x, saved.shared, y);
  if (recorder != nullptr) {
    recorder->record(layer, "router_logits", saved.choice.logits);
    recorder->record(layer, "routed_out", routed);
    recorder->record(layer, "shared_out", y);
  }
  float* out = y.mutable_data<float>();
  for (std::int64_t i = 0; i < y.numel(); ++i) out[i] += routed_data[i];
}

void moe_backward(const MoeWeights& weights, const MoeActivations& saved, const Tensor& dy,
                  Tensor& dx, MoeWeights& gradients, std::int64_t layer,
                  ActivationRecorder* gradient_recorder) {
  const std::int64_t tokens = saved.input.dim(0), hidden = saved.input.dim(1);
  const std::int64_t experts = weights.router.dim(0), width = weights.down_proj.dim(1);
  const std::int64_t top_k = saved.choice.top_k;
  const float* x = saved.input.data<float>();
  const float* dy_data = dy.data<float>();

  // The shared expert sees x and receives dy unchanged; it writes dx first.
  feed_forward_backward(weights.shared_expert, saved.shared, dy, dx, Gradient::overwrite,
                        gradients.shared_expert);
  float* dx_data = dx.mutable_data<float>();

  Tensor dscore = Tensor::zeros({tokens, top_k});  // ∂L/∂s per (token, slot)
  float* ds = dscore.mutable_data<float>();
  for (std::int64_t e = 0; e < experts; ++e) {
    const ExpertActivations& expert = saved.experts[static_cast<std::size_t>(e)];
    const auto n = static_cast<std::int64_t>(expert.slots.size());
    if (n == 0) continue;
    Tensor dout = Tensor::zeros({n, hidden});  // dy of the expert's tokens
    float* dout_data = dout.mutable_data<float>();
    for (std::int64_t r = 0; r < n; ++r) {
      const std::int64_t token = expert.slots[static_cast<std::size_t>(r)] / top_k;
      std::memcpy(dout_data + r * hidden, dy_data + token * hidden, sizeof(float) * hidden);
    }
    Tensor dhidden = Tensor::zeros({n, width});
    Tensor down_gradient = gradients.down_proj.select(e);
    matmul_backward(expert.hidden, weights.down_proj.select(e), dout, &dhidden, Gradient::overwrite,
                    down_gradient);
    Tensor dgate_up = Tensor::zeros({n, 2 * width});
    const float* gu = expert.gate_up.data<float>();
    float* dgu = dgate_up.mutable_data<float>();
    for (std::int64_t r = 0; r < n; ++r) {  // the gate and the up halves of each row
      swiglu_backward(gu + r * 2 * width, gu + r * 2 * width + width,
                      dhidden.data<float>() + r * width, dgu + r * 2 * width,
                      dgu + r * 2 * width + width, width);
    }
    Tensor dinput = Tensor::zeros({n, hidden});
    Tensor gate_up_gradient = gradients.gate_up_proj.select(e);
    matmul_backward(expert.input, weights.gate_up_proj.select(e), dgate_up, &dinput,
                    Gradient::overwrite, gate_up_gradient);
    // in = s · x[t]:  dx[t] += s · din,  ds = din · x[t]
    const float* din = dinput.data<float>();
    for (std::int64_t r = 0; r < n; ++r) {
      const std::int64_t slot = expert.slots[static_cast<std::size_t>(r)];
      const std::int64_t token = slot / top_k;
      const float score = saved.choice.expert_score[static_cast<std::size_t>(slot)];
      float dot = 0.0f;
      for (std::int64_t c = 0; c < hidden; ++c) {
        dx_data[token * hidden + c] += score * din[r * hidden + c];
        dot += din[r * hidden + c] * x[token * hidden + c];
      }
      ds[slot] = dot;
    }
  }

  // [excerpt router_gradient]
  // s = sigmoid(l): dl = ds · s · (1 - s), at the chosen experts only.
  Tensor dlogits = Tensor::zeros({tokens, experts});
  float* dl = dlogits.mutable_data<float>();
  for (std::size_t slot = 0; slot < saved.choice.expert_index.size(); ++slot) {
    const float s = saved.choice.expert_score[slot];
    const std::int64_t token = static_cast<std::int64_t>(slot) / top_k;
    dl[token * experts + saved.choice.expert_index[slot]] += ds[slot] * s * (1.0f - s);
  }
  linear_backward(saved.input, weights.router, dlogits, &dx, Gradient::add, gradients.router);
  // [end excerpt]

  if (gradient_recorder != nullptr) {
    gradient_recorder->record(layer, "router_logits", dlogits);
    gradient_recorder->record(layer, "expert_score", dscore);
    gradient_recorder->record(layer, "routed_out", dy);
    gradient_recorder->record(layer, "shared_out", dy);
  }
}

}  // namespace llama4
