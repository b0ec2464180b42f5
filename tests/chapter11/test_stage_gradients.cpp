// Each backward function on its own, fed the golden forward activations and the golden gradient
// arriving at its output; its result is compared with autograd's gradient at its input. A stage
// that is wrong fails here by name, whatever the other stages do. Then: deliberately wrong
// derivatives are caught, and finite differences agree with every backward function.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "common/layers/attention_temperature.hpp"
#include "common/layers/rms_norm.hpp"
#include "common/layers/rope.hpp"
#include "common/training/attention_backward.hpp"
#include "common/training/cross_entropy.hpp"
#include "common/training/embedding_backward.hpp"
#include "common/training/feed_forward_backward.hpp"
#include "common/training/linear.hpp"
#include "common/training/moe_backward.hpp"
#include "common/training/rms_norm_backward.hpp"
#include "tests/chapter11/training_test_support.hpp"

namespace llama4 {
namespace {

using testing::first_rows;
using testing::golden_gradients;
using testing::golden_model;
using testing::matches_gradient;

// The golden data of one model, as the stage tests use it: the training case predicts from the
// first n - 1 = 23 tokens, so every activation is the first 23 rows of the golden "full" case.
struct Stage {
  const testing::GoldenModel& model;
  const SafetensorsFile& gradients;
  std::int64_t rows;

  explicit Stage(const char* name)
      : model(golden_model(name)),
        gradients(golden_gradients(name)),
        rows(gradients.tensor("one.tokens").numel() - 1) {}

  Tensor activation(const std::string& name) const {
    return first_rows(model.golden("full", name), rows);
  }
  Tensor activation(std::int64_t layer, const std::string& stage) const {
    return activation("layers." + std::to_string(layer) + "." + stage);
  }
  Tensor gradient(const std::string& name) const { return gradients.tensor("one.grad." + name); }
  Tensor gradient(std::int64_t layer, const std::string& stage) const {
    return gradient("layers." + std::to_string(layer) + "." + stage);
  }
  // A weight by its canonical name, widened to f32.
  Tensor weight(const std::string& name) const {
    return model.checkpoint.tensor(model.names.prefix() + name).to(DType::F32);
  }
  std::string layer_prefix(std::int64_t layer) const {
    return "model.layers." + std::to_string(layer) + ".";
  }
  // The gradient of a layer's input: of the embedding for layer 0.
  std::string input_name(std::int64_t layer) const {
    return layer == 0 ? "embedding" : "layers." + std::to_string(layer - 1) + ".output";
  }
  std::vector<std::int32_t> tokens() const {
    const Tensor t = gradients.tensor("one.tokens");
    return {t.data<std::int32_t>(), t.data<std::int32_t>() + t.numel()};
  }
};

Tensor minus(const Tensor& a, const Tensor& b) {
  Tensor out = a.to(DType::F32);
  float* o = out.mutable_data<float>();
  for (std::int64_t i = 0; i < out.numel(); ++i) o[i] -= b.flat(i);
  return out;
}

class StageGradients : public ::testing::TestWithParam<const char*> {};

TEST_P(StageGradients, CrossEntropyGivesSoftmaxMinusOneHot) {
  const Stage s(GetParam());
  const std::vector<std::int32_t> tokens = s.tokens();
  const std::vector<std::int32_t> targets(tokens.begin() + 1, tokens.end());
  Tensor dlogits = Tensor::zeros(s.activation("logits").shape());
  const double loss = cross_entropy(s.activation("logits"), targets, &dlogits);
  EXPECT_NEAR(loss, s.gradients.tensor("one.loss").flat(0), 1e-5);
  EXPECT_TRUE(matches_gradient(dlogits, s.gradient("logits")));
}

TEST_P(StageGradients, LmHeadProjection) {
  const Stage s(GetParam());
  const Tensor weight = s.weight("lm_head.weight");
  Tensor dx = Tensor::zeros(s.activation("final_norm").shape());
  Tensor dweight = Tensor::zeros(weight.shape());
  linear_backward(s.activation("final_norm"), weight, s.gradient("logits"), &dx,
                  Gradient::overwrite, dweight);
  EXPECT_TRUE(matches_gradient(dx, s.gradient("final_norm")));
  EXPECT_TRUE(matches_gradient(dweight, s.gradient("lm_head.weight")));
}

TEST_P(StageGradients, FinalRmsNorm) {
  const Stage s(GetParam());
  const std::int64_t last = s.model.config.num_hidden_layers - 1;
  const Tensor x = s.activation(last, "output");
  Tensor dx = Tensor::zeros(x.shape());
  Tensor dweight = Tensor::zeros({s.model.config.hidden_size});
  rms_norm_backward(x, s.weight("model.norm.weight"),
                    static_cast<float>(s.model.config.rms_norm_eps), s.gradient("final_norm"), dx,
                    dweight);
  EXPECT_TRUE(matches_gradient(dx, s.gradient(last, "output")));
  EXPECT_TRUE(matches_gradient(dweight, s.gradient("model.norm.weight")));
}

TEST_P(StageGradients, FeedForwardOfEveryLayer) {
  const Stage s(GetParam());
  const ModelConfig& config = s.model.config;
  for (std::int64_t l = 0; l < config.num_hidden_layers; ++l) {
    SCOPED_TRACE("layer " + std::to_string(l));
    const std::string f = s.layer_prefix(l) + "feed_forward.";
    const Tensor x = s.activation(l, "ffn_norm");
    const Tensor dy = s.gradient(l, "ffn_out");
    Tensor dx = Tensor::zeros(x.shape());
    if (config.layer(l).is_moe) {
      const auto load = [&](const std::string& name) { return s.weight(f + name); };
      const auto zeros = [&](const std::string& name) { return Tensor::zeros(load(name).shape()); };
      const MoeWeights weights{
          load("router.weight"), load("experts.gate_up_proj"), load("experts.down_proj"),
          FeedForward{load("shared_expert.gate_proj.weight"), load("shared_expert.up_proj.weight"),
                      load("shared_expert.down_proj.weight")}};
      MoeWeights gradients{zeros("router.weight"), zeros("experts.gate_up_proj"),
                           zeros("experts.down_proj"),
                           FeedForward{zeros("shared_expert.gate_proj.weight"),
                                       zeros("shared_expert.up_proj.weight"),
                                       zeros("shared_expert.down_proj.weight")}};
      MoeActivations saved;
      Tensor y = Tensor::zeros(x.shape());
      moe_forward(weights, config.num_experts_per_tok, x, saved, y);
      moe_backward(weights, saved, dy, dx, gradients);
      EXPECT_TRUE(matches_gradient(gradients.router, s.gradient(f + "router.weight")));
      EXPECT_TRUE(matches_gradient(gradients.gate_up_proj, s.gradient(f + "experts.gate_up_proj")));
      EXPECT_TRUE(matches_gradient(gradients.down_proj, s.gradient(f + "experts.down_proj")));
      EXPECT_TRUE(matches_gradient(gradients.shared_expert.gate_proj,
                                   s.gradient(f + "shared_expert.gate_proj.weight")));
      EXPECT_TRUE(matches_gradient(gradients.shared_expert.up_proj,
                                   s.gradient(f + "shared_expert.up_proj.weight")));
      EXPECT_TRUE(matches_gradient(gradients.shared_expert.down_proj,
                                   s.gradient(f + "shared_expert.down_proj.weight")));
    } else {
      const FeedForward weights{s.weight(f + "gate_proj.weight"), s.weight(f + "up_proj.weight"),
                                s.weight(f + "down_proj.weight")};
      FeedForward gradients{Tensor::zeros(weights.gate_proj.shape()),
                            Tensor::zeros(weights.up_proj.shape()),
                            Tensor::zeros(weights.down_proj.shape())};
      FeedForwardActivations saved;
      Tensor y = Tensor::zeros(x.shape());
      feed_forward_forward(weights, x, saved, y);
      feed_forward_backward(weights, saved, dy, dx, Gradient::overwrite, gradients);
      EXPECT_TRUE(matches_gradient(gradients.gate_proj, s.gradient(f + "gate_proj.weight")));
      EXPECT_TRUE(matches_gradient(gradients.up_proj, s.gradient(f + "up_proj.weight")));
      EXPECT_TRUE(matches_gradient(gradients.down_proj, s.gradient(f + "down_proj.weight")));
    }
    EXPECT_TRUE(matches_gradient(dx, s.gradient(l, "ffn_norm")));
  }
}

// Both norms of every layer: the residual stream's gradient is the norm's backward plus what the
// residual connection passes straight down.
TEST_P(StageGradients, RmsNormsOfEveryLayer) {
  const Stage s(GetParam());
  const float eps = static_cast<float>(s.model.config.rms_norm_eps);
  for (std::int64_t l = 0; l < s.model.config.num_hidden_layers; ++l) {
    SCOPED_TRACE("layer " + std::to_string(l));
    struct Norm {
      std::string input, output, weight, residual_gradient, input_gradient;
    };
    const Norm norms[] = {{s.input_name(l), "layers." + std::to_string(l) + ".attn_norm",
                           s.layer_prefix(l) + "input_layernorm.weight",
                           "layers." + std::to_string(l) + ".attn_residual", s.input_name(l)},
                          {"layers." + std::to_string(l) + ".attn_residual",
                           "layers." + std::to_string(l) + ".ffn_norm",
                           s.layer_prefix(l) + "post_attention_layernorm.weight",
                           "layers." + std::to_string(l) + ".output",
                           "layers." + std::to_string(l) + ".attn_residual"}};
    for (const Norm& norm : norms) {
      SCOPED_TRACE(norm.weight);
      const Tensor x = s.activation(norm.input);
      Tensor dx = Tensor::zeros(x.shape());
      Tensor dweight = Tensor::zeros({s.model.config.hidden_size});
      rms_norm_backward(x, s.weight(norm.weight), eps, s.gradient(norm.output), dx, dweight);
      EXPECT_TRUE(matches_gradient(
          dx, minus(s.gradient(norm.input_gradient), s.gradient(norm.residual_gradient))));
      EXPECT_TRUE(matches_gradient(dweight, s.gradient(norm.weight)));
    }
  }
}

// The attention core, then back through the QK norm, RoPE or the temperature, to q, k and v.
TEST_P(StageGradients, AttentionOfEveryLayer) {
  const Stage s(GetParam());
  const ModelConfig& config = s.model.config;
  const std::vector<float> frequencies =
      rope_inverse_frequencies(config.head_dim, config.rope_theta, config.rope_scaling);
  for (std::int64_t l = 0; l < config.num_hidden_layers; ++l) {
    SCOPED_TRACE("layer " + std::to_string(l));
    const LayerConfig& kind = config.layer(l);
    // The names of q and k as the core saw them.
    const std::string q_in = kind.uses_qk_norm ? "q_norm"
                             : kind.uses_rope  ? "q_rope"
                                               : "q_temperature";
    const std::string k_in = kind.uses_qk_norm ? "k_norm" : kind.uses_rope ? "k_rope" : "k";
    const AttentionShape shape{1,
                               s.rows,
                               config.num_attention_heads,
                               config.num_key_value_heads,
                               config.head_dim,
                               kind.chunked_attention ? config.attention_chunk_size : std::nullopt};
    const Tensor q = s.activation(l, q_in), k = s.activation(l, k_in), v = s.activation(l, "v");
    Tensor context = Tensor::zeros({s.rows, shape.heads * shape.head_dim});
    Tensor probabilities = Tensor::zeros({1, shape.heads, s.rows, s.rows});
    attention_forward(shape, q, k, v, context, probabilities);
    Tensor dq = Tensor::zeros(q.shape()), dk = Tensor::zeros(k.shape()),
           dv = Tensor::zeros(v.shape());
    attention_backward(shape, q, k, v, probabilities, s.gradient(l, "attn_context"), dq, dk, dv);
    EXPECT_TRUE(matches_gradient(dq, s.gradient(l, q_in)));
    EXPECT_TRUE(matches_gradient(dk, s.gradient(l, k_in)));
    EXPECT_TRUE(matches_gradient(dv, s.gradient(l, "v")));

    if (kind.uses_qk_norm) {
      qk_norm_backward(s.activation(l, "q_rope"), static_cast<float>(config.rms_norm_eps), dq);
      qk_norm_backward(s.activation(l, "k_rope"), static_cast<float>(config.rms_norm_eps), dk);
      EXPECT_TRUE(matches_gradient(dq, s.gradient(l, "q_rope")));
      EXPECT_TRUE(matches_gradient(dk, s.gradient(l, "k_rope")));
    }
    if (kind.uses_rope) {
      apply_rope(dq, 0, frequencies, Rotation::backward);
      apply_rope(dk, 0, frequencies, Rotation::backward);
    } else if (kind.uses_temperature_tuning) {
      apply_attention_temperature(dq, 0, config.floor_scale, config.attn_scale);
    }
    EXPECT_TRUE(matches_gradient(dq, s.gradient(l, "q")));
    EXPECT_TRUE(matches_gradient(dk, s.gradient(l, "k")));
  }
}

TEST_P(StageGradients, EmbeddingTable) {
  const Stage s(GetParam());
  const std::vector<std::int32_t> tokens = s.tokens();
  const std::vector<std::int32_t> inputs(tokens.begin(), tokens.end() - 1);
  Tensor dtable = Tensor::zeros({s.model.config.vocab_size, s.model.config.hidden_size});
  embedding_backward(inputs, s.gradient("embedding"), dtable);
  EXPECT_TRUE(matches_gradient(dtable, s.gradient("model.embed_tokens.weight")));
}

std::string model_label(const ::testing::TestParamInfo<const char*>& parameter) {
  return std::string(parameter.param) == "tiny" ? "Tiny" : "TinyMaverick";
}
INSTANTIATE_TEST_SUITE_P(Models, StageGradients, ::testing::Values("tiny", "tiny-maverick"),
                         model_label);

// ------------------------------------------------------------------------------------------------
// Wrong derivatives are caught: each computes a plausible but wrong gradient, the kind of slip a
// hand-written backward pass makes, and the golden comparison must reject it.

TEST(WrongDerivatives, RmsNormTreatingTheScaleAsAConstantIsCaught) {
  const Stage s("tiny");
  const Tensor x = s.activation(1, "attn_residual");
  const Tensor w = s.weight(s.layer_prefix(1) + "post_attention_layernorm.weight");
  const Tensor dy = s.gradient(1, "ffn_norm");
  Tensor wrong = Tensor::zeros(x.shape());  // dx = r · dy ⊙ w, forgetting that r depends on x
  const std::int64_t hidden = x.dim(1);
  for (std::int64_t t = 0; t < x.dim(0); ++t) {
    double sum = 0.0;
    for (std::int64_t i = 0; i < hidden; ++i) sum += x.at({t, i}) * x.at({t, i});
    const float r = 1.0f / std::sqrt(static_cast<float>(sum / hidden) + 1e-5f);
    for (std::int64_t i = 0; i < hidden; ++i) wrong.set({t, i}, r * dy.at({t, i}) * w.at({i}));
  }
  EXPECT_FALSE(
      matches_gradient(wrong, minus(s.gradient(1, "attn_residual"), s.gradient(1, "output"))));
}

TEST(WrongDerivatives, SoftmaxWithoutSubtractingTheWeightedMeanIsCaught) {
  const Stage s("tiny");
  const Tensor q = s.activation(3, "q_temperature"), k = s.activation(3, "k"),
               v = s.activation(3, "v");
  const ModelConfig& config = s.model.config;
  const AttentionShape shape{
      1,           s.rows, config.num_attention_heads, config.num_key_value_heads, config.head_dim,
      std::nullopt};
  Tensor context = Tensor::zeros({s.rows, shape.heads * shape.head_dim});
  Tensor probabilities = Tensor::zeros({1, shape.heads, s.rows, s.rows});
  attention_forward(shape, q, k, v, context, probabilities);
  // ds_j = p_j · dp_j (dropping "- Σ p_l dp_l"): what you get by differentiating e^{s_j} alone.
  Tensor wrong = Tensor::zeros(q.shape());
  const Tensor dctx = s.gradient(3, "attn_context");
  const std::int64_t D = shape.head_dim, group = shape.heads / shape.kv_heads;
  for (std::int64_t h = 0; h < shape.heads; ++h) {
    for (std::int64_t i = 0; i < s.rows; ++i) {
      for (std::int64_t j = 0; j <= i; ++j) {
        float dp = 0.0f;
        for (std::int64_t d = 0; d < D; ++d)
          dp += dctx.at({i, h * D + d}) * v.at({j, h / group, d});
        const float ds = probabilities.at({0, h, i, j}) * dp / std::sqrt(static_cast<float>(D));
        for (std::int64_t d = 0; d < D; ++d) {
          wrong.set({i, h, d}, wrong.at({i, h, d}) + ds * k.at({j, h / group, d}));
        }
      }
    }
  }
  EXPECT_FALSE(matches_gradient(wrong, s.gradient(3, "q_temperature")));
}

TEST(WrongDerivatives, RopeRotatedForwardInsteadOfBackIsCaught) {
  const Stage s("tiny-maverick");  // no QK norm: the gradient of q_rope goes straight to RoPE
  const ModelConfig& config = s.model.config;
  Tensor dq = s.gradient(0, "q_rope").clone();
  apply_rope(dq, 0,
             rope_inverse_frequencies(config.head_dim, config.rope_theta, config.rope_scaling),
             Rotation::forward);
  EXPECT_FALSE(matches_gradient(dq, s.gradient(0, "q")));
}

TEST(WrongDerivatives, RouterScoreWithoutTheSigmoidsDerivativeIsCaught) {
  const Stage s("tiny");
  // dl = ds (forgetting s · (1 - s)) at the chosen experts.
  const Tensor ds = s.gradient(1, "expert_score");
  const Tensor index = s.model.golden("full", "layers.1.expert_index");
  Tensor wrong = Tensor::zeros(s.gradient(1, "router_logits").shape());
  for (std::int64_t t = 0; t < s.rows; ++t) {
    wrong.set({t, static_cast<std::int64_t>(index.at({t, 0}))}, ds.at({t, 0}));
  }
  EXPECT_FALSE(matches_gradient(wrong, s.gradient(1, "router_logits")));
}

// ------------------------------------------------------------------------------------------------
// Finite differences: for a stage y = F(x) and a fixed random dy, f(x) = Σ dy ⊙ F(x) has gradient
// backward(dy). Nudging single elements of x by ±h and differencing f checks that, for the five
// elements where the gradient is largest, without trusting any golden data.

std::vector<float> random_normal(std::int64_t count, unsigned seed) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal;
  std::vector<float> values(static_cast<std::size_t>(count));
  for (float& v : values) v = normal(generator);
  return values;
}

Tensor random_like(const Tensor& t, unsigned seed) {
  return Tensor::from_values(t.shape(), random_normal(t.numel(), seed));
}

void expect_finite_differences_agree(const Tensor& x, const Tensor& dy, const Tensor& dx,
                                     const std::function<Tensor(const Tensor&)>& forward) {
  const auto f = [&](const Tensor& input) {
    const Tensor y = forward(input);
    double sum = 0.0;
    for (std::int64_t i = 0; i < y.numel(); ++i) sum += static_cast<double>(dy.flat(i)) * y.flat(i);
    return sum;
  };
  std::vector<std::int64_t> order(static_cast<std::size_t>(x.numel()));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
  std::partial_sort(order.begin(), order.begin() + 5, order.end(),
                    [&](auto a, auto b) { return std::abs(dx.flat(a)) > std::abs(dx.flat(b)); });
  const float h = 1e-2f;
  for (std::size_t n = 0; n < 5; ++n) {
    const std::int64_t i = order[n];
    Tensor plus = x.clone(), minus_h = x.clone();
    plus.mutable_data<float>()[i] += h;
    minus_h.mutable_data<float>()[i] -= h;
    const double numeric = (f(plus) - f(minus_h)) / (2.0 * h);
    EXPECT_NEAR(numeric, dx.flat(i), 2e-3 * std::max(1.0, std::abs(numeric)))
        << "element " << i << " of " << shape_string(x.shape());
  }
}

TEST(FiniteDifferences, RmsNorm) {
  const Tensor x = random_like(Tensor::zeros({5, 24}), 1), w = random_like(Tensor::zeros({24}), 2);
  const Tensor dy = random_like(x, 3);
  Tensor dx = Tensor::zeros(x.shape()), dw = Tensor::zeros(w.shape());
  rms_norm_backward(x, w, 1e-5f, dy, dx, dw);
  expect_finite_differences_agree(x, dy, dx,
                                  [&](const Tensor& in) { return rms_norm(in, w, 1e-5f); });
  expect_finite_differences_agree(w, dy, dw,
                                  [&](const Tensor& in) { return rms_norm(x, in, 1e-5f); });
}

TEST(FiniteDifferences, QkNorm) {
  const Tensor x = random_like(Tensor::zeros({3, 2, 16}), 4), dy = random_like(x, 5);
  Tensor dx = dy.clone();
  qk_norm_backward(x, 1e-5f, dx);
  expect_finite_differences_agree(x, dy, dx, [](const Tensor& in) {
    Tensor y = in.clone();
    qk_norm(y, 1e-5f);
    return y;
  });
}

TEST(FiniteDifferences, RopeWithLlama3Scaling) {
  const std::vector<float> frequencies =
      rope_inverse_frequencies(16, 10000.0, RopeScaling{16.0, 1.0, 4.0, 64, {}});
  const Tensor x = random_like(Tensor::zeros({40, 2, 16}), 6), dy = random_like(x, 7);
  Tensor dx = dy.clone();
  apply_rope(dx, 0, frequencies, Rotation::backward);
  expect_finite_differences_agree(x, dy, dx, [&](const Tensor& in) {
    Tensor y = in.clone();
    apply_rope(y, 0, frequencies);
    return y;
  });
}

TEST(FiniteDifferences, AttentionWithChunkedMaskAndGroupedHeads) {
  const AttentionShape shape{2, 11, 4, 2, 8, 4};  // two sequences crossing two chunk boundaries
  const Tensor q = random_like(Tensor::zeros({22, 4, 8}), 8);
  const Tensor k = random_like(Tensor::zeros({22, 2, 8}), 9), v = random_like(k, 10);
  const Tensor dy = random_like(Tensor::zeros({22, 32}), 11);
  Tensor context = Tensor::zeros({22, 32}), probabilities = Tensor::zeros({2, 4, 11, 11});
  attention_forward(shape, q, k, v, context, probabilities);
  Tensor dq = Tensor::zeros(q.shape()), dk = Tensor::zeros(k.shape()),
         dv = Tensor::zeros(v.shape());
  attention_backward(shape, q, k, v, probabilities, dy, dq, dk, dv);
  const auto run = [&](const Tensor& qq, const Tensor& kk, const Tensor& vv) {
    Tensor out = Tensor::zeros({22, 32}), p = Tensor::zeros({2, 4, 11, 11});
    attention_forward(shape, qq, kk, vv, out, p);
    return out;
  };
  expect_finite_differences_agree(q, dy, dq, [&](const Tensor& in) { return run(in, k, v); });
  expect_finite_differences_agree(k, dy, dk, [&](const Tensor& in) { return run(q, in, v); });
  expect_finite_differences_agree(v, dy, dv, [&](const Tensor& in) { return run(q, k, in); });
}

TEST(FiniteDifferences, SwiGluFeedForward) {
  const FeedForward w{random_like(Tensor::zeros({12, 8}), 12),
                      random_like(Tensor::zeros({12, 8}), 13),
                      random_like(Tensor::zeros({8, 12}), 14)};
  const Tensor x = random_like(Tensor::zeros({5, 8}), 15), dy = random_like(x, 16);
  FeedForward g{Tensor::zeros({12, 8}), Tensor::zeros({12, 8}), Tensor::zeros({8, 12})};
  FeedForwardActivations saved;
  Tensor y = Tensor::zeros(x.shape()), dx = Tensor::zeros(x.shape());
  feed_forward_forward(w, x, saved, y);
  feed_forward_backward(w, saved, dy, dx, Gradient::overwrite, g);
  const auto run = [](const FeedForward& weights, const Tensor& in) {
    FeedForwardActivations unused;
    Tensor out = Tensor::zeros(in.shape());
    feed_forward_forward(weights, in, unused, out);
    return out;
  };
  expect_finite_differences_agree(x, dy, dx, [&](const Tensor& in) { return run(w, in); });
  expect_finite_differences_agree(w.gate_proj, dy, g.gate_proj, [&](const Tensor& in) {
    return run(FeedForward{in, w.up_proj, w.down_proj}, x);
  });
}

TEST(FiniteDifferences, MixtureOfExpertsThroughTheRouterScore) {
  const std::int64_t E = 3, H = 8, I = 6;
  const MoeWeights w{
      random_like(Tensor::zeros({E, H}), 17), random_like(Tensor::zeros({E, H, 2 * I}), 18),
      random_like(Tensor::zeros({E, I, H}), 19),
      FeedForward{random_like(Tensor::zeros({I, H}), 20), random_like(Tensor::zeros({I, H}), 21),
                  random_like(Tensor::zeros({H, I}), 22)}};
  const Tensor x = random_like(Tensor::zeros({7, H}), 23), dy = random_like(x, 24);
  MoeWeights g{Tensor::zeros({E, H}), Tensor::zeros({E, H, 2 * I}), Tensor::zeros({E, I, H}),
               FeedForward{Tensor::zeros({I, H}), Tensor::zeros({I, H}), Tensor::zeros({H, I})}};
  MoeActivations saved;
  Tensor y = Tensor::zeros(x.shape()), dx = Tensor::zeros(x.shape());
  moe_forward(w, 1, x, saved, y);
  moe_backward(w, saved, dy, dx, g);
  const auto run = [](const MoeWeights& weights, const Tensor& in) {
    MoeActivations unused;
    Tensor out = Tensor::zeros(in.shape());
    moe_forward(weights, 1, in, unused, out);
    return out;
  };
  // A nudge of ±h can change which expert a token picks (a jump, not a slope); the random router
  // logits here are separated by far more than h's effect, as the golden tests' margins are.
  expect_finite_differences_agree(x, dy, dx, [&](const Tensor& in) { return run(w, in); });
  expect_finite_differences_agree(w.router, dy, g.router, [&](const Tensor& in) {
    return run(MoeWeights{in, w.gate_up_proj, w.down_proj, w.shared_expert}, x);
  });
  expect_finite_differences_agree(w.gate_up_proj, dy, g.gate_up_proj, [&](const Tensor& in) {
    return run(MoeWeights{w.router, in, w.down_proj, w.shared_expert}, x);
  });
}

TEST(FiniteDifferences, CrossEntropy) {
  const Tensor logits = random_like(Tensor::zeros({4, 9}), 25);
  const std::vector<std::int32_t> targets = {3, 0, 8, 3};
  Tensor dlogits = Tensor::zeros(logits.shape());
  cross_entropy(logits, targets, &dlogits);
  const Tensor one = Tensor::from_values({1}, {1.0f});
  expect_finite_differences_agree(logits, one, dlogits, [&](const Tensor& in) {
    return Tensor::from_values({1}, {static_cast<float>(cross_entropy(in, targets))});
  });
}

}  // namespace
}  // namespace llama4
