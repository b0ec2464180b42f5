// Chapter 05: RoPE, and the attention temperature of NoPE layers.
//
// Builds the inverse-frequency tables with llama3 scaling (the tiny model's, whose pairs fall in
// all three bands, and Scout's, whose middle band is empty), rotates layer 0's queries and keys,
// shows that a rotated dot product depends only on the distance between positions, rotates a second
// call that starts at position 5, and computes the temperature that NoPE layers apply to their
// queries. Everything is checked against the golden data.
//
//   build/bin/chapter05_rope [--model DIR]   (DIR: a checkpoint directory or a config.json whose
//                                              RoPE table to show in place of Scout's)
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

#include "common/debugging/data_paths.hpp"
#include "common/debugging/golden.hpp"
#include "common/layers/attention_temperature.hpp"
#include "common/layers/rope.hpp"
#include "common/program/command_line.hpp"
#include "common/program/run_main.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/tensors/tensor.hpp"

using namespace llama4;

namespace {

Tensor as_tensor(const std::vector<float>& values) {
  return Tensor::from_values({static_cast<std::int64_t>(values.size())}, values);
}

bool check(const std::string& label, const Tensor& ours, const Tensor& golden,
           Tolerance tolerance) {
  const Comparison result = compare(ours, golden, tolerance);
  std::printf("   %-30s %s\n", label.c_str(), summary(result, golden, tolerance).c_str());
  return result.within_tolerance;
}

// Which of the three llama3 bands pair i falls in, judged by its wavelength λ = 2π/θ.
const char* band_of(float plain_frequency, const RopeScaling& scaling) {
  const double wavelength = 2.0 * std::numbers::pi / plain_frequency;
  const double l0 = static_cast<double>(scaling.original_max_position_embeddings);
  if (wavelength < l0 / scaling.high_freq_factor) return "keep";
  if (wavelength > l0 / scaling.low_freq_factor) return "divide";
  return "blend";
}

// The tiny model's table: one line per pair.
bool show_tiny_table(const ModelConfig& config, const SafetensorsFile& golden) {
  const RopeScaling& s = *config.rope_scaling;
  std::printf(
      "1. The tiny model's inverse frequencies: D %lld, theta %g, llama3 scaling factor %g,\n"
      "   low %g, high %g, L0 %lld: keep if wavelength < L0/high = %g, divide if > L0/low = %g\n",
      static_cast<long long>(config.head_dim), config.rope_theta, s.factor, s.low_freq_factor,
      s.high_freq_factor, static_cast<long long>(s.original_max_position_embeddings),
      static_cast<double>(s.original_max_position_embeddings) / s.high_freq_factor,
      static_cast<double>(s.original_max_position_embeddings) / s.low_freq_factor);
  const std::vector<float> plain =
      rope_inverse_frequencies(config.head_dim, config.rope_theta, std::nullopt);
  const std::vector<float> scaled = rope_inverse_frequencies(config.head_dim, config.rope_theta, s);
  std::printf("   pair  theta         wavelength  band    scaled theta\n");
  for (std::size_t i = 0; i < plain.size(); ++i) {
    std::printf("   %4zu  %-12.6g %11.1f  %-6s  %.6g\n", i, plain[i],
                2.0 * std::numbers::pi / plain[i], band_of(plain[i], s), scaled[i]);
  }
  bool ok = check("table vs golden", as_tensor(scaled), golden.tensor("tables.tiny_inv_freq"),
                  tolerance::kElementwise);
  std::cout << "\n";
  return ok;
}

// Scout's table (or the one of --model): 64 pairs, shown around the band edges.
bool show_large_table(const ModelConfig& config, const std::string& title, bool is_scout,
                      const SafetensorsFile& golden) {
  std::printf("2. %s: D %lld, theta %g, ", title.c_str(), static_cast<long long>(config.head_dim),
              config.rope_theta);
  if (!config.rope_scaling) {
    std::cout << "no scaling (plain RoPE, like Maverick)\n\n";
    return true;
  }
  const RopeScaling& s = *config.rope_scaling;
  std::printf("factor %g, low %g, high %g, L0 %lld\n", s.factor, s.low_freq_factor,
              s.high_freq_factor, static_cast<long long>(s.original_max_position_embeddings));
  if (s.low_freq_factor == s.high_freq_factor) {
    std::cout
        << "   low == high: both thresholds are equal, the blend band is empty and its formula\n"
           "   would divide by zero (high - low = 0). It must never be evaluated.\n";
  }
  const std::vector<float> plain =
      rope_inverse_frequencies(config.head_dim, config.rope_theta, std::nullopt);
  const std::vector<float> scaled = rope_inverse_frequencies(config.head_dim, config.rope_theta, s);
  // Print the first and last pair and the pairs on either side of a band edge.
  const auto band = [&](std::size_t i) { return std::string(band_of(plain[i], s)); };
  int kept = 0, divided = 0, blended = 0, nans = 0;
  bool skipped = false;
  for (std::size_t i = 0; i < plain.size(); ++i) {
    kept += band(i) == "keep";
    divided += band(i) == "divide";
    blended += band(i) == "blend";
    nans += std::isnan(scaled[i]);
    const bool edge =
        i == 0 || i + 1 == plain.size() || band(i - 1) != band(i) || band(i + 1) != band(i);
    if (!edge) {
      skipped = true;
      continue;
    }
    if (skipped) std::cout << "   ...\n";
    skipped = false;
    std::printf("   pair %2zu  wavelength %10.1f  %-6s  %.6g -> %.6g (÷%.4g)\n", i,
                2.0 * std::numbers::pi / plain[i], band(i).c_str(), plain[i], scaled[i],
                plain[i] / scaled[i]);
  }
  std::printf("   %d pairs kept, %d blended, %d divided by %g, %d NaN\n", kept, blended, divided,
              s.factor, nans);
  bool ok = nans == 0;
  if (is_scout) {
    ok &= check("table vs golden", as_tensor(scaled), golden.tensor("tables.scout_inv_freq"),
                tolerance::kElementwise);
  }
  std::cout << "\n";
  return ok;
}

// Rotates layer 0's q and k (24 tokens from position 0) and shows one pair turning.
bool rotate_layer_0(const std::vector<float>& frequencies, const SafetensorsFile& golden) {
  std::cout
      << "3. Rotate layer 0's q and k: pair (x[2i], x[2i+1]) of position p turns by p·theta_i\n";
  const Tensor q = golden.tensor("full.layers.0.q");  // q: [24, heads, D], before RoPE
  Tensor q_rope = q.clone();
  Tensor k_rope = golden.tensor("full.layers.0.k").clone();  // k: [24, kv_heads, D]
  apply_rope(q_rope, 0, frequencies);
  apply_rope(k_rope, 0, frequencies);
  const std::int64_t t = 5;  // position 0 turns by angle 0, so look at a later row
  std::cout << "   " << describe(q, "q        ") << "\n"
            << "   " << describe(q.select(t), "q[5]     ") << "\n"
            << "   " << describe(q_rope.select(t), "q_rope[5]") << "\n";
  const float a = q.at({t, 0, 0}), b = q.at({t, 0, 1});
  const float ra = q_rope.at({t, 0, 0}), rb = q_rope.at({t, 0, 1});
  std::printf("   position %lld, head 0, pair 0 (theta %g): (%.4f, %.4f) -> (%.4f, %.4f)\n",
              static_cast<long long>(t), frequencies[0], a, b, ra, rb);
  std::printf("   turned by %.4f rad = %lld·theta modulo 2π; length %.4f -> %.4f (a rotation)\n",
              std::remainder(std::atan2(rb, ra) - std::atan2(b, a), 2.0 * std::numbers::pi),
              static_cast<long long>(t), std::hypot(a, b), std::hypot(ra, rb));
  bool ok = check("q_rope vs golden", q_rope, golden.tensor("full.layers.0.q_rope"),
                  tolerance::kElementwise);
  ok &= check("k_rope vs golden", k_rope, golden.tensor("full.layers.0.k_rope"),
              tolerance::kElementwise);
  std::cout << "\n";
  return ok;
}

// q at position p and k at position p - 3: the score is the same for every p.
void show_relative_position(const std::vector<float>& frequencies, const SafetensorsFile& golden) {
  std::cout
      << "4. Why rotate: a rotated query·key depends only on the distance between positions\n";
  const std::int64_t head_dim = golden.tensor("full.layers.0.q").dim(2);
  const Tensor q =
      golden.tensor("full.layers.0.q").select(0).slice(0, 0, 1).reshape({1, 1, head_dim});
  const Tensor k =
      golden.tensor("full.layers.0.k").select(1).slice(0, 0, 1).reshape({1, 1, head_dim});
  for (std::int64_t p : {3, 10, 50, 1000}) {
    Tensor q_at = q.clone(), k_at = k.clone();
    apply_rope(q_at, p, frequencies);
    apply_rope(k_at, p - 3, frequencies);
    double dot = 0.0;
    for (std::int64_t d = 0; d < head_dim; ++d) dot += q_at.flat(d) * k_at.flat(d);
    std::printf("   q at %4lld, k at %4lld: q·k = %.5f\n", static_cast<long long>(p),
                static_cast<long long>(p - 3), dot);
  }
  std::cout << "\n";
}

// The offset case's second call holds positions 5..11: RoPE must start at 5, not 0.
bool rotate_with_offset(const std::vector<float>& frequencies, const SafetensorsFile& golden) {
  std::cout << "5. A second call starting at position 5 (the `offset` case): start_position = 5\n";
  const Tensor expected =
      golden.tensor("offset.layers.0.k_rope").slice(0, 5, 12);  // [7, kv_heads, D]
  Tensor right = golden.tensor("offset.layers.0.k").slice(0, 5, 12).clone();
  Tensor wrong = right.clone();
  apply_rope(right, 5, frequencies);
  apply_rope(wrong, 0, frequencies);
  const bool ok = check("start 5 vs golden", right, expected, tolerance::kElementwise);
  const bool wrong_matches = compare(wrong, expected, tolerance::kElementwise).within_tolerance;
  std::printf("   %-30s %s\n\n", "start 0 (a bug)",
              wrong_matches ? "matches?!" : "fails the golden check, as it should");
  return ok && !wrong_matches;
}

// NoPE layers: no rotation; their queries are scaled by 1 + attn_scale·ln(floor((p+1)/floor)+1).
bool show_temperature(const ModelConfig& tiny, const SafetensorsFile& golden) {
  std::cout << "6. Attention temperature of NoPE layers: q *= 1 + 0.1·ln(floor((p + 1) / "
               "floor_scale) + 1)\n";
  const Tensor positions = golden.tensor("tables.temperature_positions");  // [8] I32
  std::vector<float> scout;
  std::cout << "   Scout (floor 8192, scale 0.1):";
  for (std::int64_t i = 0; i < positions.numel(); ++i) {
    const auto p = static_cast<std::int64_t>(positions.flat(i));
    scout.push_back(attention_temperature(p, 8192, 0.1));
    if (i % 4 == 0) std::cout << "\n     ";
    std::printf("  p %7lld: %.6f", static_cast<long long>(p), scout.back());
  }
  std::cout << "\n";
  bool ok = check("Scout scales vs golden", as_tensor(scout),
                  golden.tensor("tables.temperature_scales"), tolerance::kElementwise);
  // The tiny model's floor is 4, so its 24 positions see the scale change six times.
  std::vector<float> small;
  for (std::int64_t p = 0; p < 24; ++p) {
    small.push_back(attention_temperature(p, tiny.floor_scale, tiny.attn_scale));
  }
  std::printf("   tiny (floor %g, scale %g):", tiny.floor_scale, tiny.attn_scale);
  int steps = 0;
  for (std::int64_t first = 0; first < 24;) {
    std::int64_t last = first;
    while (last + 1 < 24 &&
           small[static_cast<std::size_t>(last + 1)] == small[static_cast<std::size_t>(first)])
      ++last;
    if (steps++ % 4 == 0) std::cout << "\n     ";
    std::printf("  p %2lld..%2lld: %.6f", static_cast<long long>(first),
                static_cast<long long>(last), small[static_cast<std::size_t>(first)]);
    first = last + 1;
  }
  std::cout << "\n";
  ok &= check("tiny scales vs golden", as_tensor(small),
              golden.tensor("tables.tiny_temperature_scales"), tolerance::kElementwise);
  Tensor q = golden.tensor("full.layers.3.q").clone();  // q: [24, heads, D] of the NoPE layer 3
  apply_attention_temperature(q, 0, tiny.floor_scale, tiny.attn_scale);
  ok &= check("layer 3 q vs golden", q, golden.tensor("full.layers.3.q_temperature"),
              tolerance::kElementwise);
  return ok;
}

// Scout's published RoPE settings (spec §1.2).
ModelConfig scout_rope_settings() {
  ModelConfig scout;  // HF's defaults are Scout's: head_dim 128, theta 500000
  scout.rope_scaling = RopeScaling{16.0, 1.0, 1.0, 8192, {}};
  return scout;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<std::string> model;
  CommandLine command_line(
      "Chapter 05: RoPE with llama3 scaling, and the attention temperature of NoPE layers, checked "
      "against the golden data.");
  command_line.add_model(
      model,
      "a checkpoint directory or a config.json whose RoPE table to show in place of Scout's");
  command_line.parse(argc, argv);

  return run_main([&] {
    std::cout << "Chapter 05: RoPE and the attention temperature\n\n";
    const ModelConfig tiny = load_model_config(golden_model_dir("tiny"));
    const SafetensorsFile golden(golden_activations_path("tiny"));
    const ModelConfig large = model ? load_model_config(*model) : scout_rope_settings();
    const std::vector<float> frequencies =
        rope_inverse_frequencies(tiny.head_dim, tiny.rope_theta, tiny.rope_scaling);

    bool ok = show_tiny_table(tiny, golden);
    ok &= show_large_table(
        large, model ? "The inverse frequencies of " + *model : "Scout's inverse frequencies",
        !model, golden);
    ok &= rotate_layer_0(frequencies, golden);
    show_relative_position(frequencies, golden);
    ok &= rotate_with_offset(frequencies, golden);
    ok &= show_temperature(tiny, golden);
    std::cout << (ok ? "\nall checks passed\n" : "\nSOME CHECKS FAILED\n");
    return ok ? 0 : 1;
  });
}
