// Chapter 07: the mixture-of-experts feed-forward layer, and the dense SwiGLU layers between.
//
// Routes the 24 golden tokens of layer 1 (an MoE layer of the tiny model): the router's logits, the
// top-1 expert and its sigmoid score for every token, how many tokens each expert gets, then the
// shared and routed outputs against the golden data. Shows that scaling the expert's OUTPUT by the
// score (the Mixtral habit) fails the check, that gathering tokens per expert equals running every
// expert on every token, and runs the dense layers 0 and 2.
//
//   build/bin/chapter07_moe [--model DIR]   (DIR: a checkpoint directory or config.json whose
//                                             MoE/dense schedule to show as well)
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/debugging/activation_recorder.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/debugging/golden.hpp"
#include "common/layers/feed_forward.hpp"
#include "common/layers/moe.hpp"
#include "common/program/command_line.hpp"
#include "common/program/run_main.hpp"
#include "common/tensors/checkpoint.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/tensors/tensor.hpp"

using namespace llama4;

namespace {

bool check(const std::string& label, const Tensor& ours, const Tensor& golden,
           Tolerance tolerance) {
  const Comparison result = compare(ours, golden, tolerance);
  std::printf("   %-30s %s\n", label.c_str(), summary(result, golden, tolerance).c_str());
  return result.within_tolerance;
}

std::string layer_name(std::int64_t layer, const char* stage) {
  return "layers." + std::to_string(layer) + "." + stage;
}

// Which layers are MoE and how big the experts are.
void show_schedule(const ModelConfig& config, const std::string& title) {
  std::printf("%s: %lld experts + 1 shared, top-%lld, expert width I %lld, dense width Imlp %lld\n",
              title.c_str(), static_cast<long long>(config.num_local_experts),
              static_cast<long long>(config.num_experts_per_tok),
              static_cast<long long>(config.intermediate_size),
              static_cast<long long>(config.intermediate_size_mlp));
  std::printf("   %-8s", "MoE");
  for (const LayerConfig& layer : config.layers) std::cout << (layer.is_moe ? 'x' : '.');
  std::cout << "   (one column per layer; '.' is a dense SwiGLU layer)\n";
}

// Per token: the router's logits, the chosen expert and its score.
void show_routing(const Tensor& logits, const Tensor& index, const Tensor& score) {
  const std::int64_t tokens = logits.dim(0), experts = logits.dim(1);
  std::printf("   %3s  %-*s  expert  score = sigmoid(its logit)\n", "t",
              static_cast<int>(8 * experts + 1), "router logits");
  for (std::int64_t t = 0; t < tokens; ++t) {
    std::printf("   %3lld  [", static_cast<long long>(t));
    for (std::int64_t e = 0; e < experts; ++e)
      std::printf("%7.3f%s", logits.at({t, e}), e + 1 < experts ? " " : "");
    std::printf("]  %6d  %.4f\n", static_cast<int>(index.at({t, 0})), score.at({t, 0}));
  }
}

void show_expert_load(const Tensor& index, std::int64_t experts) {
  for (std::int64_t e = 0; e < experts; ++e) {
    std::string positions;
    int count = 0;
    for (std::int64_t t = 0; t < index.dim(0); ++t) {
      if (static_cast<std::int64_t>(index.at({t, 0})) != e) continue;
      if (count++ > 0) positions += ' ';
      positions += std::to_string(t);
    }
    std::printf("   expert %lld: %2d tokens (%s)\n", static_cast<long long>(e), count,
                positions.c_str());
  }
}

// The Mixtral-style mistake: expert(x) * score instead of expert(score * x). It must fail.
bool scaling_the_output_fails(const MoeLayer& moe, const Tensor& x, const Tensor& index,
                              const Tensor& score, const Tensor& expected) {
  Tensor wrong = Tensor::zeros(x.shape());  // wrong: [24, H]
  for (std::int64_t t = 0; t < x.dim(0); ++t) {
    const Tensor y = moe.expert(static_cast<std::int64_t>(index.at({t, 0})), x.slice(0, t, t + 1));
    for (std::int64_t i = 0; i < x.dim(1); ++i) wrong.set({t, i}, score.at({t, 0}) * y.at({0, i}));
  }
  const Comparison result = compare(wrong, expected, tolerance::kProjection);
  std::printf("   %-30s max |Δ| %.3g: %s\n", "score on the output (a bug)", result.max_abs_error,
              result.within_tolerance ? "matches?! the check is too weak"
                                      : "fails the golden check, as it should");
  return !result.within_tolerance;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<std::string> model;
  CommandLine command_line(
      "Chapter 07: the mixture-of-experts layer and the dense SwiGLU layers of the golden tiny "
      "model, checked against the golden data.");
  command_line.add_model(
      model, "a checkpoint directory or a config.json whose MoE/dense schedule to show as well");
  command_line.parse(argc, argv);

  return run_main([&] {
    std::cout << "Chapter 07: mixture of experts\n\n";
    const Checkpoint checkpoint = Checkpoint::open(golden_model_dir("tiny"));
    const WeightNames names(checkpoint);
    const ModelConfig config = load_model_config(golden_model_dir("tiny"));
    const SafetensorsFile golden(golden_activations_path("tiny"));

    std::cout << "1. ";
    show_schedule(config, "The tiny model");
    if (model) {
      std::cout << "   ";
      show_schedule(load_model_config(*model), *model);
    }

    const std::int64_t l = 1;
    const MoeLayer moe(config, l, checkpoint, names);
    std::cout << "\n2. Layer 1's router on the golden input x: [24, " << config.hidden_size << "]\n"
              << "   " << describe(moe.weights().router, "router      ") << "\n"
              << "   " << describe(moe.weights().gate_up_proj, "gate_up_proj")
              << "  (input-major, gate first)\n"
              << "   " << describe(moe.weights().down_proj, "down_proj   ") << "\n";
    const Tensor x = golden.tensor("full.layers.1.ffn_norm");  // x: [24, H]
    ActivationRecorder recorder;
    const Tensor out = moe.forward(x, &recorder);  // out: [24, H] = shared + routed
    const Tensor index = recorder.last(layer_name(l, "expert_index"));  // [24, 1] I32
    const Tensor score = recorder.last(layer_name(l, "expert_score"));  // [24, 1]
    show_routing(recorder.last(layer_name(l, "router_logits")), index, score);

    std::cout << "\n3. Tokens per expert (each token runs its expert and the shared expert)\n";
    show_expert_load(index, config.num_local_experts);

    std::cout << "\n4. Against the golden data\n";
    bool ok = true;
    for (const char* stage :
         {"router_logits", "expert_index", "expert_score", "shared_out", "routed_out"}) {
      const Tolerance tolerance = std::string(stage) == "expert_index"   ? tolerance::kExact
                                  : std::string(stage).ends_with("_out") ? tolerance::kProjection
                                                                         : tolerance::kProjection;
      ok &= check(stage, recorder.last(layer_name(l, stage)),
                  golden.tensor("full." + layer_name(l, stage)), tolerance);
    }
    ok &= check("shared + routed", out, golden.tensor("full.layers.1.ffn_out"),
                tolerance::kProjection);
    ok &= scaling_the_output_fails(moe, x, index, score, golden.tensor("full.layers.1.routed_out"));
    ok &= check("every expert on every token", moe.forward_every_expert(x), out, {1e-6, 1e-6});

    const MoeLayer moe3(config, 3, checkpoint, names);
    ok &= check("layer 3 (MoE) shared + routed",
                moe3.forward(golden.tensor("full.layers.3.ffn_norm")),
                golden.tensor("full.layers.3.ffn_out"), tolerance::kProjection);

    std::cout << "\n5. The dense layers 0 and 2: one SwiGLU MLP of width Imlp = "
              << config.intermediate_size_mlp << "\n";
    for (std::int64_t dense : {0, 2}) {
      const FeedForward mlp = FeedForward::load(checkpoint, names.layer(dense, "feed_forward."),
                                                config.hidden_size, config.intermediate_size_mlp);
      const Tensor y =
          mlp.forward(golden.tensor("full." + layer_name(dense, "ffn_norm")));  // [24, H]
      ok &= check("layer " + std::to_string(dense) + " mlp_out", y,
                  golden.tensor("full." + layer_name(dense, "mlp_out")), tolerance::kProjection);
    }
    std::cout << (ok ? "\nall checks passed\n" : "\nSOME CHECKS FAILED\n");
    return ok ? 0 : 1;
  });
}
