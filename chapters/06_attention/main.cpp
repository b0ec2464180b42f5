// Chapter 06: attention.
//
// Runs the attention of layer 0 (RoPE, QK norm, chunked mask with C = 8) and layer 3 (NoPE,
// temperature-tuned queries, global causal mask) of the tiny model on the golden input of the
// `full` case, draws which keys each query position may see in both, then feeds the same 24 tokens
// as a prefill of 10 and 14 single-token decode steps through a KV cache and checks every step
// against the full run. Everything is compared with the golden data.
//
//   build/bin/chapter06_attention [--model DIR]   (DIR: a checkpoint directory or config.json whose
//                                                   layer schedule to show as well)
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/debugging/activation_recorder.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/debugging/golden.hpp"
#include "common/layers/attention.hpp"
#include "common/layers/kv_cache.hpp"
#include "common/layers/rope.hpp"
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
  std::printf("   %-26s %s\n", label.c_str(), summary(result, golden, tolerance).c_str());
  return result.within_tolerance;
}

std::string golden_name(const char* case_name, std::int64_t layer, const char* stage) {
  return std::string(case_name) + ".layers." + std::to_string(layer) + "." + stage;
}

std::string recorded_name(std::int64_t layer, const char* stage) {
  return "layers." + std::to_string(layer) + "." + stage;
}

// One line per layer: what its attention does (derived from config.json exactly as HF does).
void show_schedule(const ModelConfig& config, const std::string& title) {
  std::printf("%s: %lld layers, %lld query heads, %lld kv heads, head_dim %lld\n", title.c_str(),
              static_cast<long long>(config.num_hidden_layers),
              static_cast<long long>(config.num_attention_heads),
              static_cast<long long>(config.num_key_value_heads),
              static_cast<long long>(config.head_dim));
  const auto row = [&](const char* label, auto property) {
    std::printf("   %-22s", label);
    for (const LayerConfig& layer : config.layers) std::cout << (property(layer) ? 'x' : '.');
    std::cout << "\n";
  };
  row("RoPE", [](const LayerConfig& l) { return l.uses_rope; });
  row("chunked mask", [](const LayerConfig& l) { return l.chunked_attention; });
  row("QK norm", [](const LayerConfig& l) { return l.uses_qk_norm; });
  row("temperature tuning", [](const LayerConfig& l) { return l.uses_temperature_tuning; });
  if (config.attention_chunk_size) {
    std::printf("   (one column per layer; chunk size %lld)\n",
                static_cast<long long>(*config.attention_chunk_size));
  }
}

// Runs one layer over all 24 golden tokens in a single call, recording every stage.
ActivationRecorder run_full(const AttentionLayer& layer, const Tensor& x) {
  ActivationRecorder recorder;
  LayerKVCache cache = layer.make_cache(x.dim(0));
  layer.forward(x, cache, &recorder);
  return recorder;
}

// Compares the recorded stages of one layer with the golden `full` case.
bool check_layer(std::int64_t l, const ActivationRecorder& recorder,
                 const SafetensorsFile& golden) {
  bool ok = true;
  for (const char* stage : {"q", "k", "v", "q_norm", "k_norm", "q_temperature"}) {
    if (!golden.contains(golden_name("full", l, stage))) continue;  // each layer kind has its own
    ok &= check(stage, recorder.last(recorded_name(l, stage)),
                golden.tensor(golden_name("full", l, stage)), tolerance::kProjection);
  }
  ok &= check("attn_probs [heads, 24, 24]", recorder.last(recorded_name(l, "attn_probs")),
              golden.tensor(golden_name("full", l, "attn_probs")), tolerance::kProjection);
  ok &= check("attn_context", recorder.last(recorded_name(l, "attn_context")),
              golden.tensor(golden_name("full", l, "attn_context")), tolerance::kProjection);
  ok &= check("attn_out", recorder.last(recorded_name(l, "attn_out")),
              golden.tensor(golden_name("full", l, "attn_out")), tolerance::kProjection);
  return ok;
}

// '#' where query i gave key j a non-zero probability, '.' where the mask hid it.
void draw_masks(const Tensor& chunked_probs, const Tensor& global_probs, std::int64_t chunk) {
  std::cout << "   query   layer 0: chunked, C = " << chunk << "        layer 3: global (causal)\n";
  const std::int64_t keys = chunked_probs.dim(2);
  const auto draw_row = [&](const Tensor& probs, std::int64_t i) {
    std::string line;
    for (std::int64_t j = 0; j < keys; ++j) {
      if (j > 0 && j % chunk == 0) line += ' ';
      line += probs.at({0, i, j}) > 0.0f ? '#' : '.';
    }
    return line;
  };
  for (std::int64_t i = 0; i < chunked_probs.dim(1); ++i) {
    if (i > 0 && i % chunk == 0) std::cout << "\n";
    std::printf("   %5lld   %s      %s\n", static_cast<long long>(i),
                draw_row(chunked_probs, i).c_str(), draw_row(global_probs, i).c_str());
  }
  std::cout << "   (head 0; keys 0..23 left to right, a gap every " << chunk << ")\n";
}

// Prefill positions 0..9 in one call, then 10..23 one token at a time, through one cache per layer.
// Every row must equal the row of the full 24-token run.
bool prefill_then_decode(const std::vector<AttentionLayer>& layers, std::int64_t chunk,
                         const SafetensorsFile& golden) {
  const std::int64_t total = 24, prefill = 10;
  bool ok = true;
  std::vector<LayerKVCache> caches;
  std::vector<ActivationRecorder> recorders(layers.size());
  for (const AttentionLayer& layer : layers) caches.push_back(layer.make_cache(total));
  std::printf("   %-9s %-9s  keys the call's last position sees %*s max |Δ| vs the\n", "call",
              "positions", static_cast<int>(14 * layers.size() - 35), "");
  std::printf("   %-19s", "");
  for (std::size_t l = 0; l < layers.size(); ++l) std::printf("    layer %-4zu", l);
  std::printf("   full run\n");
  for (std::int64_t start = 0; start < total;) {
    const std::int64_t length = start == 0 ? prefill : 1;
    double worst = 0.0;
    std::printf("   %-9s %2lld..%-5lld", start == 0 ? "prefill" : "decode",
                static_cast<long long>(start), static_cast<long long>(start + length - 1));
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const auto layer_index = static_cast<std::int64_t>(l);
      const Tensor x = golden.tensor(golden_name("decode", layer_index, "attn_norm"))
                           .slice(0, start, start + length);
      const Tensor out = layers[l].forward(x, caches[l], &recorders[l]);  // out: [length, H]
      const Tensor expected = golden.tensor(golden_name("full", layer_index, "attn_out"))
                                  .slice(0, start, start + length);
      const Comparison row = compare(out, expected, tolerance::kProjection);
      ok &= row.within_tolerance;
      worst = std::max(worst, row.max_abs_error);
      const std::int64_t last = start + length - 1;
      const std::int64_t first = caches[l].first_visible(last);
      std::printf("  %5lld..%-5lld", static_cast<long long>(first), static_cast<long long>(last));
    }
    std::printf("   %.2g", worst);
    for (std::int64_t p = std::max<std::int64_t>(start, 1); p < start + length; ++p) {
      if (p % chunk == 0)
        std::printf("   <- position %lld starts a chunk", static_cast<long long>(p));
    }
    std::cout << "\n";
    start += length;
  }
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const auto layer_index = static_cast<std::int64_t>(l);
    ok &= check("layer " + std::to_string(l) + " vs golden decode",
                recorders[l].concatenated(recorded_name(layer_index, "attn_out")),
                golden.tensor(golden_name("decode", layer_index, "attn_out")),
                tolerance::kProjection);
  }
  std::printf(
      "   cache slots: layer 0 keeps %lld (one chunk, a ring), layer 3 keeps %lld (everything)\n",
      static_cast<long long>(caches[0].slots()), static_cast<long long>(caches[3].slots()));
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<std::string> model;
  CommandLine command_line(
      "Chapter 06: attention of the golden tiny model (chunked and global, with a KV cache), "
      "checked against the golden data.");
  command_line.add_model(
      model, "a checkpoint directory or a config.json whose layer schedule to show as well");
  command_line.parse(argc, argv);

  return run_main([&] {
    std::cout << "Chapter 06: attention\n\n";
    const Checkpoint checkpoint = Checkpoint::open(golden_model_dir("tiny"));
    const WeightNames names(checkpoint);
    const ModelConfig config = load_model_config(golden_model_dir("tiny"));
    const SafetensorsFile golden(golden_activations_path("tiny"));
    const std::vector<float> frequencies =
        rope_inverse_frequencies(config.head_dim, config.rope_theta, config.rope_scaling);

    std::cout << "1. ";
    show_schedule(config, "The tiny model");
    if (model) {
      std::cout << "   ";
      show_schedule(load_model_config(*model), *model);
    }
    std::cout << "\n";

    std::vector<AttentionLayer> layers;
    for (std::int64_t l = 0; l < config.num_hidden_layers; ++l) {
      layers.emplace_back(config, l, checkpoint, names, frequencies);
    }
    const std::int64_t group = config.query_heads_per_kv_head();
    std::printf("2. Layer 0 (RoPE, QK norm, chunked) on the golden input x: [24, %lld]\n",
                static_cast<long long>(config.hidden_size));
    std::printf(
        "   q: [24, %lld, %lld], k and v: [24, %lld, %lld]; query heads %lld..%lld share kv head "
        "0\n",
        static_cast<long long>(config.num_attention_heads), static_cast<long long>(config.head_dim),
        static_cast<long long>(config.num_key_value_heads), static_cast<long long>(config.head_dim),
        0LL, static_cast<long long>(group - 1));
    const ActivationRecorder layer0 = run_full(layers[0], golden.tensor("full.layers.0.attn_norm"));
    bool ok = check_layer(0, layer0, golden);
    std::cout << "\n3. Layer 3 (NoPE, temperature-tuned queries, global)\n";
    const ActivationRecorder layer3 = run_full(layers[3], golden.tensor("full.layers.3.attn_norm"));
    ok &= check_layer(3, layer3, golden);

    std::cout << "\n4. Which keys each query sees (from the probabilities we just computed)\n";
    draw_masks(layer0.last("layers.0.attn_probs"), layer3.last("layers.3.attn_probs"),
               *config.attention_chunk_size);

    std::cout << "\n5. Prefill 10 tokens, then decode 14 one at a time with a KV cache\n";
    ok &= prefill_then_decode(layers, *config.attention_chunk_size, golden);
    std::cout << (ok ? "\nall checks passed\n" : "\nSOME CHECKS FAILED\n");
    return ok ? 0 : 1;
  });
}
