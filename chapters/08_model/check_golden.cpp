// --check-golden (and the program with no arguments): the golden tiny model, checked.
//
// What a reader can hold against the book, in the order the model computes it:
//
//   1. the layer schedule: what each layer does (RoPE or NoPE, chunked or global, MoE or dense)
//   2. one forward pass over the 24 tokens of the golden `full` case, every stage against the
//      golden data: the largest difference per stage and layer and, when one is outside its
//      tolerance, the first stage and layer that differ (where to start looking for the bug)
//   3. the five most likely tokens after the golden prompt, with their probabilities and golden's
//   4. sixteen greedy tokens against the golden continuation
//
// The golden data is golden/generate.py's: a PyTorch reference, itself checked against Hugging
// Face's Llama4ForCausalLM. Exit status 0 when everything matches, 1 otherwise.
#include <cstdio>
#include <iostream>
#include <map>

#include "chapters/08_model/modes.hpp"
#include "common/debugging/activation_dump.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/debugging/golden.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/safetensors.hpp"

namespace llama4 {
namespace {

std::vector<std::int32_t> ids_of(const Tensor& tensor) {
  const std::int32_t* ids = tensor.data<std::int32_t>();
  return std::vector<std::int32_t>(ids, ids + tensor.numel());
}

std::string ids_text(const std::vector<std::int32_t>& ids) {
  std::string text;
  for (const std::int32_t id : ids) {
    if (!text.empty()) text += ' ';
    text += std::to_string(id);
  }
  return text;
}

// The golden data was made for one shape: any other model is refused before it runs.
void check_shape_is_golden(const ModelConfig& config, const ModelConfig& golden) {
  if (config.num_hidden_layers == golden.num_hidden_layers &&
      config.hidden_size == golden.hidden_size && config.vocab_size == golden.vocab_size)
    return;
  fail("--check-golden compares with the golden tiny model (", golden.num_hidden_layers,
       " layers, hidden ", golden.hidden_size, ", vocab ", golden.vocab_size, "); this model has ",
       config.num_hidden_layers, " layers, hidden ", config.hidden_size, ", vocab ",
       config.vocab_size);
}

// 1. One line per layer, from the config exactly as Hugging Face derives it (chapter 01).
void print_schedule(const ModelConfig& config) {
  std::cout << "1. The layer schedule (from config.json)\n"
            << "   layer  position  attention           feed-forward\n";
  for (std::int64_t l = 0; l < config.num_hidden_layers; ++l) {
    const LayerConfig& layer = config.layer(l);
    const std::string attention =
        layer.chunked_attention
            ? "chunked, C = " + std::to_string(config.attention_chunk_size.value_or(0))
            : "global";
    const std::string feed_forward =
        layer.is_moe ? "MoE: " + std::to_string(config.num_local_experts) + " experts, top-" +
                           std::to_string(config.num_experts_per_tok) + ", + shared"
                     : "dense SwiGLU, width " + std::to_string(config.intermediate_size_mlp);
    std::printf("   %5lld  %-8s  %-18s  %s\n", static_cast<long long>(l),
                layer.uses_rope ? "RoPE" : "NoPE", attention.c_str(), feed_forward.c_str());
  }
  std::cout << "\n";
}

// One cell of the stage table: the largest |ours - golden|, and ✗ when outside the tolerance.
std::string cell(const Comparison& comparison) {
  if (!comparison.problem.empty() && comparison.elements_outside == 0) return "✗";  // a shape
  char text[32];
  std::snprintf(text, sizeof text, comparison.max_abs_error == 0 ? "%.0f" : "%.1e",
                comparison.max_abs_error);
  return std::string(text) + (comparison.within_tolerance ? "" : " ✗");
}

// `text` and spaces up to `width` characters on screen ('·' and '✗' are one character, but several
// bytes of UTF-8, so printf's widths would be wrong).
std::string padded(std::string text, std::size_t width) {
  std::size_t characters = 0;
  for (const char c : text) characters += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  if (characters < width) text.append(width - characters, ' ');
  return text;
}

// The comparison of each stage both sides have, by name ("embedding", "layers.2.attn_out").
using StageResults = std::map<std::string, Comparison>;

// "layers.2.attn_out" -> "attn_out": the part that decides the tolerance.
std::string stage_of(const std::string& name) {
  return name.starts_with("layers.") ? name.substr(name.find('.', 7) + 1) : name;
}

StageResults compare_every_stage(const ActivationRecorder& recorder, const SafetensorsFile& golden,
                                 std::int64_t layers) {
  StageResults results;
  for (const std::string& name : stage_order(layers)) {
    if (!recorder.contains(name) || !golden.contains("full." + name)) continue;
    results[name] = compare(recorder.last(name), golden.tensor("full." + name),
                            stage_tolerance(stage_of(name)));
  }
  return results;
}

void print_row(const std::string& first, const std::vector<std::string>& cells) {
  std::string row = "   " + padded(first, 15);
  for (const std::string& text : cells) row += padded(text, 12);
  while (row.back() == ' ') row.pop_back();
  std::cout << row << "\n";
}

// One row per stage, in the order a layer computes them, one column per layer; '·' where a layer
// has no such stage (a NoPE layer has no q_rope, a dense layer no router).
void print_stage_table(const StageResults& results, std::int64_t layers) {
  const auto print_stage = [&](const std::string& stage, const std::vector<std::string>& names) {
    std::vector<std::string> cells;
    for (const std::string& name : names) {
      const auto found = results.find(name);
      cells.push_back(found == results.end() ? "·" : cell(found->second));
    }
    print_row(stage, cells);
  };
  std::vector<std::string> titles;
  for (std::int64_t l = 0; l < layers; ++l) titles.push_back("layer " + std::to_string(l));
  print_row("stage", titles);
  print_stage("embedding", {"embedding"});
  for (const std::string& stage : layer_stage_order()) {
    std::vector<std::string> names;
    for (std::int64_t l = 0; l < layers; ++l)
      names.push_back("layers." + std::to_string(l) + "." + stage);
    print_stage(stage, names);
  }
  print_stage("final_norm", {"final_norm"});
  print_stage("logits", {"logits"});
  std::cout << "   (tolerance: 2e-05 + 2e-05·|golden|; the embedding and the experts chosen "
               "exactly)\n";
}

// The first stage, in the order the forward pass computes them, that differs: where to start
// looking. Returns whether every stage agrees.
bool report_first_difference(const StageResults& results, const SafetensorsFile& golden,
                             std::int64_t layers) {
  std::int64_t agreeing = 0;
  for (const std::string& name : stage_order(layers)) {
    const auto found = results.find(name);
    if (found == results.end()) continue;
    if (found->second.within_tolerance) {
      ++agreeing;
      continue;
    }
    std::cout << "   first difference: " << name;
    if (name.starts_with("layers."))
      std::cout << " (layer " << name.substr(7, name.find('.', 7) - 7) << ")";
    std::cout << ", after " << agreeing << " agreeing stages:\n     "
              << summary(found->second, golden.tensor("full." + name),
                         stage_tolerance(stage_of(name)))
              << "\n\n";
    return false;
  }
  std::cout << "   all " << results.size() << " stages agree with golden ✓\n\n";
  return true;
}

// 2. Every stage of one forward pass over the `full` case against golden.
bool check_every_stage(InferenceSession& session, const SafetensorsFile& golden) {
  const std::vector<std::int32_t> tokens = ids_of(golden.tensor("full.tokens"));
  const std::int64_t layers = session.config().num_hidden_layers;
  std::cout << "2. One forward pass over the " << tokens.size()
            << " tokens of the golden `full` case, every stage against golden: max |Δ|\n";
  ActivationRecorder recorder;
  session.forward(tokens, LogitRows::all, &recorder);
  session.reset();
  const StageResults results = compare_every_stage(recorder, golden, layers);
  print_stage_table(results, layers);
  return report_first_difference(results, golden, layers);
}

// 3. The model's distribution over the next token after the golden prompt, and golden's.
void print_next_tokens(InferenceSession& session, const std::vector<std::int32_t>& prompt,
                       const Tensor& golden_logits) {
  std::cout << "3. The most likely next tokens after the golden prompt [" << ids_text(prompt)
            << "]\n   token  probability  golden\n";
  const Tensor logits = session.forward(prompt, LogitRows::last);  // logits: [1, vocab]
  session.reset();
  const std::vector<Candidate> ours = sorted_probabilities(
      std::span<const float>(logits.data<float>(), static_cast<std::size_t>(logits.numel())), 1.0f);
  const std::vector<Candidate> theirs =
      sorted_probabilities(std::span<const float>(golden_logits.data<float>(),
                                                  static_cast<std::size_t>(golden_logits.numel())),
                           1.0f);
  std::map<std::int32_t, float> golden_probability;
  for (const Candidate& candidate : theirs)
    golden_probability[candidate.id] = candidate.probability;
  for (std::size_t i = 0; i < 5 && i < ours.size(); ++i) {
    std::printf("   %5d  %11.4f  %6.4f\n", ours[i].id, ours[i].probability,
                golden_probability[ours[i].id]);
  }
  std::cout << "   (greedy generation takes the first)\n\n";
}

// 4. Greedy generation against the golden continuation, token by token.
bool check_greedy(InferenceSession& session, const std::vector<std::int32_t>& prompt,
                  const std::vector<std::int32_t>& expected, double load_seconds) {
  std::cout << "4. Greedy generation: the most likely token, " << expected.size()
            << " times\n   ours:   ";
  Sampler greedy({});
  const GenerationResult result = generate(
      session, greedy, prompt, static_cast<std::int64_t>(expected.size()), {}, [](std::int32_t id) {
        std::cout << id << ' ' << std::flush;
        return true;
      });
  std::cout << "\n   golden: " << ids_text(expected) << "\n   match: ";
  std::size_t same = 0;
  while (same < expected.size() && same < result.tokens.size() &&
         result.tokens[same] == expected[same])
    ++same;
  if (same == expected.size()) {
    std::cout << "all " << expected.size() << " tokens equal the golden continuation ✓\n";
  } else {
    std::cout << "DIFFERENT from token " << same << " on ✗\n";
  }
  print_timing(session, load_seconds, result.stats);
  return same == expected.size();
}

}  // namespace

int check_golden(InferenceSession& session, double load_seconds) {
  const SafetensorsFile golden(golden_activations_path("tiny"));
  const ModelConfig golden_config = load_model_config(golden_model_dir("tiny"));
  const ModelConfig& config = session.config();
  check_shape_is_golden(config, golden_config);
  std::cout << "Golden check: a " << config.num_hidden_layers << "-layer Llama 4 (hidden "
            << config.hidden_size << ", " << config.num_attention_heads << " query and "
            << config.num_key_value_heads << " key/value heads, vocab " << config.vocab_size
            << ") against " << golden.path().string() << "\n\n";

  print_schedule(config);
  bool ok = check_every_stage(session, golden);
  const std::vector<std::int32_t> prompt = ids_of(golden.tensor("greedy.prompt"));
  print_next_tokens(session, prompt, golden.tensor("greedy.logits").select(0));
  ok &= check_greedy(session, prompt, ids_of(golden.tensor("greedy.tokens")), load_seconds);
  return ok ? 0 : 1;
}

}  // namespace llama4
