// The chapter 08 program: its options, loading the model, and which mode runs.
#include "chapters/08_model/program.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "chapters/08_model/modes.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/finetuning/adapted_model.hpp"
#include "common/model/synthetic_model.hpp"
#include "common/program/command_line.hpp"
#include "common/program/progress_bar.hpp"
#include "common/program/run_main.hpp"
#include "common/program/thread_count.hpp"
#include "common/quantization/block_formats.hpp"
#include "common/quantization/quantized_checkpoint.hpp"
#include "common/tensors/bfloat16_dot.hpp"
#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text.append(text.empty() ? "" : ", ").append(name);
  return text;
}

// What the trained model continues when the program is run without arguments: how the King James
// Bible opens hundreds of its stories.
constexpr const char* kDefaultPrompt = "And it came to pass";

// ---------------------------------------------------------------------------------------------
// The options, in the order --help lists them.

void add_options(CommandLine& command_line, ProgramOptions& o, bool gpu) {
  CLI::App& app = command_line.app();
  const char* modes =
      "What to do (default: continue the prompt; with no options: the trained model continues \""
      "And it came to pass\")";
  auto* check = app.add_flag("--check-golden", o.check_golden,
                             "run the golden tiny model and compare every stage, the next-token "
                             "probabilities and 16 greedy tokens with the golden data")
                    ->group(modes);
  auto* chat = app.add_flag("--chat", o.chat,
                            "a conversation in the Llama 4 chat format, one user line at a time")
                   ->group(modes);
  auto* perplexity = app.add_option("--perplexity", o.perplexity_file, "perplexity of a text file")
                         ->option_text("FILE")
                         ->group(modes);
  auto* choices = app.add_option("--multiple-choice", o.multiple_choice_file,
                                 "accuracy on multiple-choice questions, one JSON object per line "
                                 "({\"context\", \"choices\", \"answer\"}), by log-likelihood")
                      ->option_text("FILE.jsonl")
                      ->group(modes);
  auto* logits = app.add_option("--dump-logits", o.dump_logits,
                                "with --tokens: write float32 logits [n_tokens, vocab] of one "
                                "forward pass, row-major, and print nothing on standard output")
                     ->option_text("OUT.bin")
                     ->group(modes);
  app.add_option("--prefill-tokens", o.prefill_tokens,
                 "with --dump-logits: run the first N ids in one pass, then each later id alone "
                 "through the KV cache (the logits of every position still go to the file)")
      ->option_text("N")
      ->check(integer_in(1, 1 << 30))
      ->needs(logits);
  auto* activations =
      app.add_option("--dump-activations", o.dump_activations,
                     "write every stage of the prompt's forward pass to "
                     "DIR/activations.safetensors (compare two with chapter08_compare)")
          ->option_text("DIR")
          ->group(modes);

  const char* model = "The model";
  auto* directory =
      command_line
          .add_model(o.model_directory,
                     "a Hugging Face Llama 4 checkpoint directory (config.json + "
                     "safetensors) or a llama.cpp GGUF file (chapter 12); default: chapter 11's "
                     "trained model, golden/llama4-bible; with --check-golden: the golden tiny "
                     "model)")
          ->group(model);
  const std::vector<std::string> shapes = synthetic_model_names();
  auto* synthetic =
      app.add_option("--synthetic", o.synthetic,
                     "seeded random weights of a named shape: " + joined(shapes) +
                         " (text needs Llama 4's vocabulary: " +
                         joined(synthetic_models_that_take_text(ModelConfig{}.vocab_size)) + ")")
          ->option_text("NAME")
          ->check(CLI::IsMember(shapes))
          ->excludes(directory)
          ->group(model);
  app.add_option("--adapter", o.adapter,
                 "a LoRA adapter (PEFT's adapter_config.json + adapter_model.safetensors), merged "
                 "into the weights at load (chapter 13; default with --chat and no --model: "
                 "chapter 13's adapter for the trained model)")
      ->option_text("DIR")
      ->excludes(synthetic)
      ->group(model);
  app.add_option("--weight-seed", o.weight_seed, "seed of the synthetic weights (default 1)")
      ->option_text("N")
      ->check(any_unsigned_integer())
      ->needs(synthetic)
      ->group(model);
  app.add_option("--tokenizer", o.tokenizer,
                 "tokenizer.model, .tiktoken or .json (default: the GGUF file's or the model "
                 "directory's, then "
                 "$LLAMA4_TOKENIZER or ../shared/llama4/tokenizer.model)")
      ->option_text("PATH")
      ->group(model);
  if (!gpu) {  // the GPU kernels read bf16 only (chapter 12's GPU kernels are still to come)
    app.add_option("--quantize", o.quantize,
                   "quantize the weights at load time (chapter 12): q8_0, q4_0 or q4_1")
        ->option_text("FORMAT")
        ->check(CLI::IsMember({"q8_0", "q4_0", "q4_1"}, CLI::ignore_case))
        ->group(model);
    app.add_flag("--exact-bf16", o.exact_bf16,
                 "generate with bf16 weights times f32 activations even where the CPU has "
                 "AVX-512 BF16 (by default text and chat there round x to bf16 and use vdpbf16ps, "
                 "two products per lane; modes that measure always keep x exact; chapter 12)")
        ->group(model);
  }
  command_line
      .add_context_length(o.context_length, "default: max_position_embeddings, at most 4096")
      ->group(model);
  command_line.add_threads(o.threads)->group(model);
  app.add_flag_callback(
         "--touch", [&o] { o.touch = true; },
         "read every weight page at load (default: if it fits in half the RAM)")
      ->group(model);
  app.add_flag_callback(
         "--no-touch", [&o] { o.touch = false; }, "do not read every weight page at load")
      ->group(model);
  if (gpu) {
    app.add_option("--device", o.device, "GPU to run on (default 0)")
        ->option_text("N")
        ->check(integer_in(0, 1023))
        ->group(model);
  }

  const char* input = "The input";
  auto* prompt = app.add_option("--prompt", o.prompt, "the text to continue (or standard input)")
                     ->option_text("TEXT")
                     ->group(input);
  auto* prompt_file = app.add_option("--prompt-file", o.prompt_file, "the text to continue")
                          ->option_text("FILE")
                          ->excludes(prompt)
                          ->group(input);
  app.add_option("--system", o.system, "with --chat: the system message")
      ->option_text("TEXT")
      ->needs(chat)
      ->group(input);
  auto* tokens = app.add_option("--tokens", o.tokens, "token ids instead of text: 1,2,3 or @FILE")
                     ->option_text("IDS")
                     ->group(input);
  app.add_option("--prompt-length", o.random_prompt_length,
                 "random prompt length for a synthetic model without a prompt (default 128)")
      ->option_text("N")
      ->check(integer_in(1, kLongestContext))
      ->group(input);
  app.add_flag("--no-bos", o.no_bos, "do not start a text prompt with <|begin_of_text|>")
      ->group(input);

  command_line.add_max_new_tokens(o.max_new_tokens)->group("Generation");
  command_line.add_sampling(o.sampling);

  // One mode at a time.
  logits->needs(tokens);
  for (CLI::Option* other :
       {chat, perplexity, choices, logits, activations, prompt, prompt_file, tokens})
    check->excludes(other);
  for (CLI::Option* other : {perplexity, choices, logits, activations, tokens})
    chat->excludes(other);
  for (CLI::Option* other : {choices, logits, activations}) perplexity->excludes(other);
  for (CLI::Option* other : {logits, activations, tokens, prompt, prompt_file})
    choices->excludes(other);
  logits->excludes(activations);
}

// ---------------------------------------------------------------------------------------------
// Loading

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::uint64_t physical_memory_bytes() {
  return static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
         static_cast<std::uint64_t>(::sysconf(_SC_PAGE_SIZE));
}

// --quantize FORMAT: the same model with its matrices quantized in memory (chapter 12).
Model quantized(Model model, const std::string& format) {
  if (format.empty()) return model;
  const QuantizationPlan plan{parse_quantization_format(format)};
  Checkpoint checkpoint = quantize_checkpoint(
      model.checkpoint(), plan,
      [](std::uint64_t done, std::uint64_t total) { draw_progress("quantizing", done, total); });
  std::cerr << "quantized to " << dtype_name(plan.format) << ": "
            << static_cast<double>(checkpoint.total_bytes()) / 1e9 << " GB of weights\n";
  return Model(model.config(), std::move(checkpoint));
}

Model load_model(const ProgramOptions& options) {
  if (!options.synthetic.empty()) {
    const ModelConfig config = synthetic_config(options.synthetic);
    std::cerr << "building synthetic model \"" << options.synthetic << "\" (weight seed "
              << options.weight_seed << ")\n";
    return quantized(Model(config, synthetic_checkpoint(config, options.weight_seed)),
                     options.quantize);
  }
  const std::string directory =
      options.model_directory.empty() ? golden_model_dir("tiny").string() : options.model_directory;
  Model model = Model::load(directory);
  if (!options.adapter.empty()) model = with_adapter(model, options.adapter);
  model = quantized(std::move(model), options.quantize);
  const std::uint64_t bytes = model.checkpoint().total_bytes();
  const bool touch =
      options.touch.value_or(bytes > (64u << 20) && bytes < physical_memory_bytes() / 2);
  if (touch) {
    model.touch_weights([](std::uint64_t done, std::uint64_t total) {
      draw_progress("reading weights", done, total);
    });
  }
  return model;
}

// Every run of random weights says so, in one line, whatever the mode: the golden tiny models
// (their config.json says "random_weights") and the synthetic shapes. A trained checkpoint does
// not.
void say_if_the_weights_are_random(const ModelConfig& config) {
  if (config.random_weights.empty()) return;
  std::cerr << "random weights (" << config.random_weights
            << "): the output shows the code at work, not what a trained Llama 4 would say\n";
}

// ---------------------------------------------------------------------------------------------
// Which mode runs

int run(ProgramOptions options, const SessionFactory& make_session, bool gpu,
        const PreflightCheck& preflight) {
  if (preflight) preflight(options);
  // A prompt file is read before anything is loaded: a bad one is reported at once.
  if (!options.prompt_file.empty()) {
    options.prompt = read_text_file(options.prompt_file);
    options.prompt_file.clear();
  }
  if (options.threads) set_thread_count(*options.threads);
  // Text and chat: where the CPU has AVX-512 BF16, bf16 weights multiply x rounded to bf16, two
  // products per lane (chapter 12, bfloat16_dot.hpp). Every mode that measures or compares (the
  // golden check, dumps, perplexity, multiple choice) keeps x exact, so that its numbers are the
  // same on every CPU and match the references they are checked against.
  const bool measures = options.check_golden || !options.dump_logits.empty() ||
                        !options.dump_activations.empty() || !options.perplexity_file.empty() ||
                        !options.multiple_choice_file.empty();
  set_bf16_kernel(gpu || options.exact_bf16 || measures ? Bf16Kernel::widen_to_float
                                                        : Bf16Kernel::automatic);
  const auto load_start = std::chrono::steady_clock::now();
  Model model = load_model(options);
  const ModelConfig config = model.config();
  say_if_the_weights_are_random(config);
  // The ids of --dump-logits are read before the session is made: without --ctx, the context is
  // sized to hold them all (up to max_position_embeddings) rather than failing past 4096.
  std::vector<std::int32_t> logit_ids;
  if (!options.dump_logits.empty()) logit_ids = parse_token_list(*options.tokens);
  const std::int64_t context = options.context_length.value_or(std::min<std::int64_t>(
      config.max_position_embeddings, std::max<std::int64_t>(4096, std::ssize(logit_ids))));
  check_context_length(config, context);  // before any session allocates its cache
  std::unique_ptr<InferenceSession> session = make_session(std::move(model), context, options);
  const double load_seconds = seconds_since(load_start);

  if (options.check_golden) return check_golden(*session, load_seconds);
  if (!options.dump_logits.empty())
    return dump_logits(*session, logit_ids, options.prefill_tokens, options.dump_logits);

  const bool needs_tokenizer = options.chat || !options.perplexity_file.empty() ||
                               !options.multiple_choice_file.empty() ||
                               (!options.tokens && options.synthetic.empty());
  const std::optional<Tokenizer> tokenizer = load_tokenizer(options, needs_tokenizer);
  if (tokenizer && needs_tokenizer) check_tokenizer_fits(*tokenizer, config);
  if (!options.perplexity_file.empty())
    return measure_perplexity(*session, *tokenizer, options.perplexity_file);
  if (!options.multiple_choice_file.empty())
    return answer_multiple_choice(*session, *tokenizer, options.multiple_choice_file);
  if (options.chat) return chat(*session, *tokenizer, options);

  const std::vector<std::int32_t> prompt = prompt_tokens(options, tokenizer, config);
  if (!options.dump_activations.empty())
    return dump_activations(*session, prompt, options.dump_activations);
  std::cerr << "model: "
            << (options.synthetic.empty()
                    ? (options.model_directory.empty() ? "golden tiny" : options.model_directory)
                    : "synthetic " + options.synthetic)
            << ", " << config.num_hidden_layers << " layers, on " << session->device()
            << ", context " << context
            << (using_bf16_pairs() ? ", bf16 products in pairs (vdpbf16ps, x rounded to bf16)" : "")
            << "\n";
  return generate_text(*session, tokenizer, prompt, options, load_seconds);
}

}  // namespace

void print_timing(const InferenceSession& session, double load_seconds,
                  const GenerationStats& stats) {
  const double bytes_per_token = static_cast<double>(session.bytes_read_per_token());
  std::fprintf(stderr,
               "\n[%s] load %.2f s | prompt %lld tokens: prefill %.3f s = %.1f tok/s | first token "
               "after %.3f s | %lld tokens: decode %.1f tok/s (%.2f GB/s of weights)\n",
               session.device().c_str(), load_seconds, static_cast<long long>(stats.prompt_tokens),
               stats.prefill_seconds, stats.prefill_tokens_per_second(), stats.time_to_first_token,
               static_cast<long long>(stats.generated_tokens), stats.decode_tokens_per_second(),
               stats.decode_tokens_per_second() * bytes_per_token / 1e9);
}

std::optional<ProgramOptions> parse_program_options(int argc, char** argv, bool gpu) {
  ProgramOptions options;
  CommandLine command_line("");
  add_options(command_line, options, gpu);
  if (!command_line.try_parse(argc, argv)) return std::nullopt;
  return options;
}

int run_model_program(int argc, char** argv, const SessionFactory& make_session, bool gpu,
                      const PreflightCheck& preflight) {
  ProgramOptions options;
  CommandLine command_line(
      gpu ? "Chapter 09: the whole Llama 4 model on a GPU (AMD or NVIDIA, one HIP source)."
          : "Chapter 08: the whole Llama 4 model on the CPU: a prompt continued, a chat, or the "
            "golden tiny model checked stage by stage.");
  add_options(command_line, options, gpu);
  command_line.parse(argc, argv);
  // With no arguments at all, the first thing to run after building: the model trained in chapter
  // 11 continues a default prompt, sampled (a greedy small model soon repeats itself) with a fixed
  // seed, so every run prints the same text.
  if (argc == 1) {
    options.prompt = kDefaultPrompt;
    options.max_new_tokens = 80;
    options.sampling.temperature = 0.8f;
    options.sampling.top_p = 0.95f;
    options.sampling.seed = 1;
    std::cerr << "no arguments: chapter 11's trained Llama 4 continues \"" << kDefaultPrompt
              << "\" (--help for everything else; --check-golden for the stage-by-stage check)\n";
  }
  // Without a model, the trained one: it has a tokenizer and writes English. The golden check
  // keeps its own default, the golden tiny model (load_model).
  // A chat without a model: the trained one with chapter 13's adapter, which answers in the chat
  // format (the trained model alone only continues text).
  if (options.chat && options.model_directory.empty() && options.synthetic.empty() &&
      options.adapter.empty() && std::filesystem::exists(chat_adapter_dir())) {
    options.adapter = chat_adapter_dir().string();
    std::cerr << "chat: chapter 11's trained model with chapter 13's adapter (" << options.adapter
              << ")\n";
  }
  if (options.model_directory.empty() && options.synthetic.empty() && !options.check_golden)
    options.model_directory = trained_model_dir().string();
  return run_main([&] { return run(options, make_session, gpu, preflight); });
}

}  // namespace llama4
