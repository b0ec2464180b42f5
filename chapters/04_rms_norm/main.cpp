// Chapter 04: RMSNorm and the QK norm.
//
// Normalises the golden embedding with layer 0's input_layernorm and shows each step (the root mean
// square before, 1 after normalising, then the learned weight), checks every norm of the tiny model
// against the golden data, then does the weightless per-head QK norm on layer 0's rotated queries
// and keys, including the two ways other implementations got it wrong.
//
//   build/bin/chapter04_rms_norm     (--help: what it does)
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "common/debugging/data_paths.hpp"
#include "common/debugging/golden.hpp"
#include "common/layers/rms_norm.hpp"
#include "common/program/command_line.hpp"
#include "common/program/run_main.hpp"
#include "common/tensors/checkpoint.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/tensors/tensor.hpp"

using namespace llama4;

namespace {

// sqrt(mean(v²)) of n numbers that follow each other in memory.
double root_mean_square(const float* v, std::int64_t n) {
  double sum = 0.0;
  for (std::int64_t i = 0; i < n; ++i) sum += static_cast<double>(v[i]) * v[i];
  return std::sqrt(sum / static_cast<double>(n));
}

// Prints "<label>  <match line>" and returns whether it matched.
bool check(const std::string& label, const Tensor& ours, const Tensor& golden,
           Tolerance tolerance) {
  const Comparison result = compare(ours, golden, tolerance);
  std::printf("   %-34s %s\n", label.c_str(), summary(result, golden, tolerance).c_str());
  return result.within_tolerance;
}

// Step by step for layer 0: x -> x / rms(x) -> (x / rms(x)) * weight.
bool show_one_norm(const Tensor& x, const Tensor& weight, float eps, const Tensor& expected) {
  std::cout << "1. input_layernorm of layer 0 on the embedding: y = x / sqrt(mean(x²) + eps) * w\n";
  const std::int64_t hidden = x.dim(1);
  const Tensor ones =
      Tensor::from_values({hidden}, std::vector<float>(static_cast<std::size_t>(hidden), 1.0f));
  const Tensor unit =
      rms_norm(x, ones, eps);  // unit: [24, H], the normalised rows before the weight
  const Tensor y = rms_norm(x, weight, eps);  // y: [24, H]
  std::cout << "   " << describe(x, "x     ") << "\n"
            << "   " << describe(weight, "weight") << "\n"
            << "   " << describe(y, "y     ") << "\n";
  for (std::int64_t t = 0; t < 3; ++t) {
    std::printf("   token %lld: rms(x) %.4f -> rms(x / rms) %.4f -> rms(y) %.4f\n",
                static_cast<long long>(t), root_mean_square(x.select(t).data<float>(), hidden),
                root_mean_square(unit.select(t).data<float>(), hidden),
                root_mean_square(y.select(t).data<float>(), hidden));
  }
  bool ok = check("y vs golden layers.0.attn_norm", y, expected, tolerance::kElementwise);
  // The test RmsNorm.ForgettingTheWeightFailsGolden: the unit-rms rows alone must NOT match.
  const Comparison forgot = compare(unit, expected, tolerance::kElementwise);
  std::printf("   %-34s %s\n\n", "without the weight (a bug)",
              forgot.within_tolerance ? "matches?! the check is too weak"
                                      : "fails the golden check, as it should");
  ok = ok && !forgot.within_tolerance;
  return ok;
}

// Every RMSNorm of the model, each on its golden input.
bool check_every_norm(const Checkpoint& checkpoint, const WeightNames& names,
                      const ModelConfig& config, const SafetensorsFile& golden) {
  std::cout << "2. Every RMSNorm of the tiny model, each on its golden input\n";
  const float eps = static_cast<float>(config.rms_norm_eps);
  const std::int64_t hidden = config.hidden_size;
  bool ok = true;
  for (std::int64_t l = 0; l < config.num_hidden_layers; ++l) {
    const std::string layer = "full.layers." + std::to_string(l) + ".";
    const Tensor input = l == 0 ? golden.tensor("full.embedding")
                                : golden.tensor("full.layers." + std::to_string(l - 1) + ".output");
    const Tensor w_in = load_weight(checkpoint, names.layer(l, "input_layernorm.weight"), {hidden});
    const Tensor w_post =
        load_weight(checkpoint, names.layer(l, "post_attention_layernorm.weight"), {hidden});
    ok &= check("layer " + std::to_string(l) + " input_layernorm", rms_norm(input, w_in, eps),
                golden.tensor(layer + "attn_norm"), tolerance::kElementwise);
    ok &= check("layer " + std::to_string(l) + " post_attention_layernorm",
                rms_norm(golden.tensor(layer + "attn_residual"), w_post, eps),
                golden.tensor(layer + "ffn_norm"), tolerance::kElementwise);
  }
  const Tensor last =
      golden.tensor("full.layers." + std::to_string(config.num_hidden_layers - 1) + ".output");
  ok &= check("final norm",
              rms_norm(last, load_weight(checkpoint, names.final_norm(), {hidden}), eps),
              golden.tensor("full.final_norm"), tolerance::kElementwise);
  std::cout << "\n";
  return ok;
}

// QK norm: per (token, head), over head_dim numbers, no weight; after RoPE, on RoPE layers only.
bool show_qk_norm(const ModelConfig& config, const SafetensorsFile& golden) {
  std::cout
      << "3. QK norm of layer 0 (a RoPE layer): every head of q and k to unit rms, no weight\n";
  const float eps = static_cast<float>(config.rms_norm_eps);
  const std::int64_t head_dim = config.head_dim;
  Tensor q = golden.tensor("full.layers.0.q_rope").clone();  // q: [24, heads, D]
  Tensor k = golden.tensor("full.layers.0.k_rope").clone();  // k: [24, kv_heads, D]
  std::printf("   token 0, rms of each q head before:");
  for (std::int64_t h = 0; h < q.dim(1); ++h) {
    std::printf(" %.3f", root_mean_square(q.data<float>() + h * head_dim, head_dim));
  }
  qk_norm(q, eps);
  qk_norm(k, eps);
  std::printf("\n   token 0, rms of each q head after: ");
  for (std::int64_t h = 0; h < q.dim(1); ++h) {
    std::printf(" %.3f", root_mean_square(q.data<float>() + h * head_dim, head_dim));
  }
  std::cout << "\n";
  bool ok = check("q vs golden layers.0.q_norm", q, golden.tensor("full.layers.0.q_norm"),
                  tolerance::kElementwise);
  ok &= check("k vs golden layers.0.k_norm", k, golden.tensor("full.layers.0.k_norm"),
              tolerance::kElementwise);

  // Trap (vLLM #16311, test QkNorm.IsPerHeadNotAcrossHeads): one norm over all heads of a token.
  const Tensor q_rope = golden.tensor("full.layers.0.q_rope");
  Tensor across = q_rope.clone().reshape({q_rope.dim(0), 1, q_rope.dim(1) * head_dim});
  qk_norm(across, eps);
  const bool across_matches =
      compare(across.reshape(q_rope.shape()), golden.tensor("full.layers.0.q_norm"),
              tolerance::kElementwise)
          .within_tolerance;
  std::printf("   %-34s %s\n", "normalising across heads (a bug)",
              across_matches ? "matches?!" : "fails the golden check, as it should");

  // Trap (test QkNorm.UsesRmsNormEpsNotTheOldDefault): eps 1e-6 of the first releases. Invisible on
  // O(1) data; the golden table's second row is small enough (rms 7e-4) for eps to matter.
  const Tensor input = golden.tensor("tables.qk_norm_input");  // [2, D]
  const Tensor expected = golden.tensor("tables.qk_norm_output");
  Tensor with_eps = input.clone().reshape({2, 1, head_dim});
  Tensor with_old_eps = input.clone().reshape({2, 1, head_dim});
  qk_norm(with_eps, eps);
  qk_norm(with_old_eps, 1e-6f);
  std::printf(
      "   a tiny vector (rms %.1e): rms after, eps 1e-5: %.3f, eps 1e-6: %.3f (golden %.3f)\n",
      root_mean_square(input.select(1).data<float>(), head_dim),
      root_mean_square(with_eps.data<float>() + head_dim, head_dim),
      root_mean_square(with_old_eps.data<float>() + head_dim, head_dim),
      root_mean_square(expected.select(1).data<float>(), head_dim));
  ok &= check("eps 1e-5 vs golden table", with_eps.reshape({2, head_dim}), expected,
              tolerance::kElementwise);
  const bool old_matches =
      compare(with_old_eps.reshape({2, head_dim}), expected, tolerance::kElementwise)
          .within_tolerance;
  std::printf("   %-34s %s\n", "eps 1e-6 (the old default)",
              old_matches ? "matches?!" : "fails the golden check, as it should");
  return ok && !across_matches && !old_matches;
}

}  // namespace

int main(int argc, char** argv) {
  CommandLine command_line(
      "Chapter 04: RMSNorm and the QK norm, step by step on the golden tiny model, every norm "
      "checked against the golden data. No options: it always runs the golden model.");
  command_line.parse(argc, argv);

  return run_main([&] {
    std::cout << "Chapter 04: RMSNorm and the QK norm\n\n";
    const Checkpoint checkpoint = Checkpoint::open(golden_model_dir("tiny"));
    const WeightNames names(checkpoint);
    const ModelConfig config = load_model_config(golden_model_dir("tiny"));
    const SafetensorsFile golden(golden_activations_path("tiny"));
    const float eps = static_cast<float>(config.rms_norm_eps);

    const Tensor x = golden.tensor("full.embedding");  // x: [24, H]
    const Tensor weight =
        load_weight(checkpoint, names.layer(0, "input_layernorm.weight"), {config.hidden_size});
    bool ok = show_one_norm(x, weight, eps, golden.tensor("full.layers.0.attn_norm"));
    ok &= check_every_norm(checkpoint, names, config, golden);
    ok &= show_qk_norm(config, golden);
    std::cout << (ok ? "\nall checks passed\n" : "\nSOME CHECKS FAILED\n");
    return ok ? 0 : 1;
  });
}
