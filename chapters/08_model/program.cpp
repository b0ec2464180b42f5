#include "chapters/08_model/program.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "common/debugging/activation_dump.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/model/generation.hpp"
#include "common/model/synthetic_model.hpp"
#include "common/program/run_main.hpp"
#include "common/program/thread_count.hpp"
#include "common/tensors/atomic_file.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/regular_file.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/tokenizer/chat_format.hpp"
#include "common/tokenizer/tokenizer.hpp"
#include "common/tokenizer/utf8.hpp"
#include "common/tokenizer/utf8_stream_decoder.hpp"

namespace llama4 {
namespace {

// ---------------------------------------------------------------------------------------------
// The command line

void print_usage(const char* program, bool gpu) {
  std::cerr
      << "usage: " << program << " [options]\n"
      << "\n"
      << "With no options: greedy generation on the golden tiny checkpoint, checked against the\n"
      << "golden continuation.\n"
      << "\n"
      << "model:\n"
      << "  --model DIR            a Hugging Face Llama 4 checkpoint directory (config.json + "
         "safetensors)\n"
      << "  --synthetic NAME       seeded random weights of a named shape: tiny, 100m, 1b, "
         "scout-layer\n"
      << "  --weight-seed N        seed of the synthetic weights (default 1)\n"
      << "  --tokenizer PATH       tokenizer.model or tokenizer.json (default: the model "
         "directory's,\n"
      << "                         then $LLAMA4_TOKENIZER or ../shared/llama4/tokenizer.model)\n"
      << "  --ctx N                context length (default min(max_position_embeddings, 4096))\n"
      << "  --threads N            CPU threads (default: all cores)\n"
      << "  --touch, --no-touch    read every weight page at load (default: if it fits in half the "
         "RAM)\n"
      << (gpu ? "  --device N             GPU to run on (default 0)\n" : "") << "input:\n"
      << "  --prompt TEXT          the text to continue (or --prompt-file F, or standard input)\n"
      << "  --chat [--system TEXT] a conversation in the Llama 4 chat format, one user line at a "
         "time\n"
      << "  --tokens 1,2,3|@FILE   token ids instead of text\n"
      << "  --prompt-length N      random prompt length for synthetic models (default 128)\n"
      << "  --no-bos               do not start a text prompt with <|begin_of_text|>\n"
      << "generation:\n"
      << "  -n N                   at most N new tokens (default 256)\n"
      << "  --temperature T        0 = greedy (the default)\n"
      << "  --top-k K  --top-p P  --min-p P  --repeat-penalty R  --seed S\n"
      << "other modes:\n"
      << "  --dump-logits OUT.bin  with --tokens: write float32 logits [n_tokens, vocab] of one "
         "forward\n"
      << "                         pass, row-major, and print nothing on standard output\n"
      << "  --dump-activations DIR write every stage of the prompt's forward pass to\n"
      << "                         DIR/activations.safetensors (compare with chapter08_compare)\n"
      << "  --perplexity FILE      perplexity of a text file\n";
}

std::int64_t parse_integer(const std::string& text, const char* option) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size())
    fail(option, " expects an integer, got \"", text, "\"");
  return value;
}

float parse_number(const std::string& text, const char* option) {
  try {
    std::size_t used = 0;
    const float value = std::stof(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  fail(option, " expects a number, got \"", text, "\"");
}

// "1,2,3" or "@ids.txt" (ids separated by commas or whitespace).
std::vector<std::int32_t> parse_token_list(const std::string& argument) {
  const std::string text =
      argument.starts_with("@") ? read_regular_file(argument.substr(1)) : argument;
  std::vector<std::int32_t> ids;
  std::string item;
  std::istringstream stream(text);
  while (std::getline(stream, item, ',')) {
    std::istringstream words(item);
    std::string word;
    while (words >> word) {
      const std::int64_t id = parse_integer(word, "--tokens");
      if (id < 0 || id > INT32_MAX) fail("--tokens: ", id, " is not a token id");
      ids.push_back(static_cast<std::int32_t>(id));
    }
  }
  if (ids.empty()) fail("--tokens: no token ids in \"", argument, "\"");
  return ids;
}

}  // namespace

ProgramOptions parse_program_options(int argc, char** argv, bool gpu, bool& help) {
  ProgramOptions options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) fail(flag, " needs a value");
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h")
      help = true;
    else if (flag == "--model")
      options.model_directory = value();
    else if (flag == "--synthetic")
      options.synthetic = value();
    else if (flag == "--weight-seed")
      options.weight_seed = static_cast<std::uint64_t>(parse_integer(value(), "--weight-seed"));
    else if (flag == "--tokenizer")
      options.tokenizer = value();
    else if (flag == "--prompt")
      options.prompt = value();
    else if (flag == "--prompt-file")
      options.prompt = read_regular_file(value());
    else if (flag == "--chat")
      options.chat = true;
    else if (flag == "--system")
      options.system = value();
    else if (flag == "-n")
      options.max_new_tokens = parse_integer(value(), "-n");
    else if (flag == "--ctx")
      options.context_length = parse_integer(value(), "--ctx");
    else if (flag == "--temperature")
      options.sampling.temperature = parse_number(value(), "--temperature");
    else if (flag == "--top-k")
      options.sampling.top_k = parse_integer(value(), "--top-k");
    else if (flag == "--top-p")
      options.sampling.top_p = parse_number(value(), "--top-p");
    else if (flag == "--min-p")
      options.sampling.min_p = parse_number(value(), "--min-p");
    else if (flag == "--repeat-penalty")
      options.sampling.repetition_penalty = parse_number(value(), "--repeat-penalty");
    else if (flag == "--seed")
      options.sampling.seed = static_cast<std::uint64_t>(parse_integer(value(), "--seed"));
    else if (flag == "--tokens")
      options.tokens = value();
    else if (flag == "--dump-logits")
      options.dump_logits = value();
    else if (flag == "--dump-activations")
      options.dump_activations = value();
    else if (flag == "--perplexity")
      options.perplexity_file = value();
    else if (flag == "--prompt-length")
      options.random_prompt_length = parse_integer(value(), "--prompt-length");
    else if (flag == "--threads")
      options.threads = parse_integer(value(), "--threads");
    else if (flag == "--touch")
      options.touch = true;
    else if (flag == "--no-touch")
      options.touch = false;
    else if (flag == "--no-bos")
      options.no_bos = true;
    else if (flag == "--device" && gpu)
      options.device = static_cast<int>(parse_integer(value(), "--device"));
    else
      fail("unknown option \"", flag, "\" (see --help)");
  }
  if (!options.model_directory.empty() && !options.synthetic.empty())
    fail("give --model or --synthetic, not both");
  if (options.max_new_tokens < 0) fail("-n must not be negative");
  if (options.context_length < 0) fail("--ctx must be positive");
  if (!options.dump_logits.empty() && !options.tokens) fail("--dump-logits needs --tokens");
  return options;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Loading

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void draw_progress(const char* what, std::uint64_t done, std::uint64_t total) {
  constexpr int kWidth = 40;
  const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  const int filled = static_cast<int>(fraction * kWidth);
  std::fprintf(stderr, "\r%s [%s%s] %5.1f%% of %.2f GB", what,
               std::string(static_cast<std::size_t>(filled), '#').c_str(),
               std::string(static_cast<std::size_t>(kWidth - filled), '.').c_str(), 100 * fraction,
               static_cast<double>(total) / 1e9);
  if (done >= total) std::fputc('\n', stderr);
}

std::uint64_t physical_memory_bytes() {
  return static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
         static_cast<std::uint64_t>(::sysconf(_SC_PAGE_SIZE));
}

Model load_model(const ProgramOptions& options) {
  if (!options.synthetic.empty()) {
    const ModelConfig config = synthetic_config(options.synthetic);
    std::cerr << "building synthetic model \"" << options.synthetic << "\" (weight seed "
              << options.weight_seed << ")\n";
    return Model(config, synthetic_checkpoint(config, options.weight_seed));
  }
  const std::string directory =
      options.model_directory.empty() ? golden_model_dir("tiny").string() : options.model_directory;
  Model model = Model::load(directory);
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

// The tokenizer: --tokenizer, else the model directory's, else the shared one.
std::optional<Tokenizer> load_tokenizer(const ProgramOptions& options, bool required) {
  std::vector<std::filesystem::path> candidates;
  if (!options.tokenizer.empty()) {
    candidates.push_back(options.tokenizer);
  } else {
    if (!options.model_directory.empty()) {
      candidates.push_back(std::filesystem::path(options.model_directory) / "tokenizer.model");
      candidates.push_back(std::filesystem::path(options.model_directory) / "tokenizer.json");
    }
    candidates.push_back(default_tokenizer_path());
  }
  for (const auto& path : candidates) {
    if (std::filesystem::exists(path)) return Tokenizer::load(path);
  }
  if (!options.tokenizer.empty()) fail("tokenizer ", options.tokenizer, " does not exist");
  if (required) {
    fail("no tokenizer found (looked for ", candidates.back(),
         "); give --tokenizer PATH or set LLAMA4_TOKENIZER, or pass --tokens");
  }
  return std::nullopt;
}

void check_tokenizer_fits(const Tokenizer& tokenizer, const ModelConfig& config) {
  if (tokenizer.vocab_size() > config.vocab_size) {
    fail("the tokenizer has ", tokenizer.vocab_size(), " token ids but the model only ",
         config.vocab_size,
         " (a tiny or synthetic model): give the prompt as --tokens instead of text");
  }
}

// ---------------------------------------------------------------------------------------------
// Reporting

void report(const InferenceSession& session, double load_seconds, const GenerationStats& stats) {
  const double bytes_per_token = static_cast<double>(session.bytes_read_per_token());
  std::fprintf(stderr,
               "\n[%s] load %.2f s | prompt %lld tokens: prefill %.3f s = %.1f tok/s | first token "
               "after %.3f s | "
               "%lld tokens: decode %.1f tok/s (%.2f GB/s of weights)\n",
               session.device().c_str(), load_seconds, static_cast<long long>(stats.prompt_tokens),
               stats.prefill_seconds, stats.prefill_tokens_per_second(), stats.time_to_first_token,
               static_cast<long long>(stats.generated_tokens), stats.decode_tokens_per_second(),
               stats.decode_tokens_per_second() * bytes_per_token / 1e9);
}

// ---------------------------------------------------------------------------------------------
// The modes

// --dump-logits: one forward pass over the given ids, float32 [n, vocab] to a file, nothing on
// stdout.
int dump_logits(InferenceSession& session, const std::vector<std::int32_t>& ids,
                const std::string& path) {
  const Tensor logits = session.forward(ids, LogitRows::all);
  check_logits_are_finite(logits, 0);
  AtomicFile out(path);  // a failed write leaves no partial file
  out.write(logits.data<float>(), logits.nbytes());
  out.commit();
  return 0;
}

int dump_activations(InferenceSession& session, const std::vector<std::int32_t>& ids,
                     const std::string& directory) {
  std::error_code error;
  if (std::filesystem::exists(directory, error) &&
      !std::filesystem::is_directory(directory, error)) {
    fail("--dump-activations ", directory, ": exists and is not a directory");
  }
  std::filesystem::create_directories(directory, error);
  if (error) fail("--dump-activations: cannot create ", directory, ": ", error.message());
  ActivationRecorder recorder;
  const Tensor logits = session.forward(ids, LogitRows::all, &recorder);
  const std::filesystem::path path = std::filesystem::path(directory) / "activations.safetensors";
  write_activation_dump(path, recorder, ids);
  std::cout << "wrote " << recorder.names().size() << " activations of " << ids.size()
            << " tokens to " << path.string() << "\ncompare: chapter08_compare " << path.string()
            << " OTHER.safetensors\n";
  // After writing: the dump is what shows where the NaN came from.
  check_logits_are_finite(logits, 0, &recorder);
  return 0;
}

int run_perplexity(InferenceSession& session, const Tokenizer& tokenizer,
                   const ProgramOptions& options) {
  const std::vector<std::int32_t> ids =
      tokenizer.encode(read_regular_file(options.perplexity_file), {.bos = true});
  const PerplexityResult result = perplexity(session, ids);
  std::cout << "perplexity " << result.perplexity << " over " << result.predicted_tokens
            << " predicted tokens (" << result.mean_negative_log_likelihood
            << " nats per token, windows of " << session.context_length() << ")\n";
  return 0;
}

// Text generation (or id generation without a tokenizer), streamed.
int run_generation(InferenceSession& session, const std::optional<Tokenizer>& tokenizer,
                   const std::vector<std::int32_t>& prompt, const ProgramOptions& options,
                   double load_seconds) {
  Sampler sampler(options.sampling);
  std::optional<Utf8StreamDecoder> decoder;
  if (tokenizer) decoder.emplace(*tokenizer);
  const std::vector<std::int32_t> stop_ids =
      tokenizer ? tokenizer->stop_ids()
                : std::vector<std::int32_t>(session.config().eos_token_ids.begin(),
                                            session.config().eos_token_ids.end());
  const GenerationResult result =
      generate(session, sampler, prompt, options.max_new_tokens, stop_ids, [&](std::int32_t id) {
        if (decoder) {
          std::cout << decoder->push(id);
        } else {
          std::cout << id << ' ';
        }
        std::cout.flush();
        return true;
      });
  if (decoder) std::cout << decoder->flush();
  std::cout << '\n';
  if (result.reason == StopReason::context_full)
    std::cerr << "(stopped: the context of " << session.context_length() << " tokens is full)\n";
  report(session, load_seconds, result.stats);
  return 0;
}

// --chat: one user line per turn; the KV cache carries the conversation from turn to turn.
int run_chat(InferenceSession& session, const Tokenizer& tokenizer, const ProgramOptions& options) {
  Sampler sampler(options.sampling);
  std::vector<std::int32_t> history;  // every token of the conversation so far
  std::vector<std::int32_t> pending;  // tokens to feed before the next user message
  bool first_turn = true;
  std::string line;
  if (::fcntl(STDIN_FILENO, F_GETFD) < 0)
    fail("--chat reads its lines from standard input, which is closed");
  while (true) {
    std::cout << "\nuser> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (const std::optional<std::size_t> bad = find_invalid_utf8(line)) {
      // One bad line (a terminal in another encoding, a pasted binary) must not end the session.
      std::cerr << "(that line is not valid UTF-8 at byte " << *bad << "; nothing was sent)\n";
      continue;
    }
    std::vector<std::int32_t> turn = pending;
    if (first_turn) {
      std::vector<ChatMessage> dialog;
      if (options.system) dialog.push_back({.role = "system", .content = *options.system});
      dialog.push_back({.role = "user", .content = line});
      const std::vector<std::int32_t> rendered = encode_dialog(tokenizer, dialog, true);
      turn.insert(turn.end(), rendered.begin(), rendered.end());
      first_turn = false;
    } else {
      encode_message(tokenizer, {.role = "user", .content = line}, turn);
      encode_header(tokenizer, "assistant", turn);
    }
    std::cout << "assistant> " << std::flush;
    Utf8StreamDecoder decoder(tokenizer);
    const GenerationResult result = generate(
        session, sampler, turn, options.max_new_tokens, tokenizer.stop_ids(),
        [&](std::int32_t id) {
          std::cout << decoder.push(id) << std::flush;
          return true;
        },
        history);
    std::cout << decoder.flush() << '\n';
    history.insert(history.end(), turn.begin(), turn.end());
    history.insert(history.end(), result.tokens.begin(), result.tokens.end());
    // The last token was sampled but not yet run through the model: it opens the next turn. If the
    // answer was cut off without a stop token, close the turn with <|eot|> ourselves.
    pending = {result.reason == StopReason::stop_token ? result.tokens.back() : tokenizer.eot_id()};
    if (result.reason == StopReason::context_full ||
        session.position() + 2 >= session.context_length()) {
      std::cerr << "(the context of " << session.context_length()
                << " tokens is full; ending the chat)\n";
      break;
    }
  }
  return 0;
}

// No options at all: the embedded default. Greedy continuation of the golden prompt on the tiny
// model, compared token by token with the golden continuation.
int run_default(InferenceSession& session, double load_seconds) {
  const SafetensorsFile golden(golden_activations_path("tiny"));
  const Tensor prompt_tensor = golden.tensor("greedy.prompt");
  const Tensor expected = golden.tensor("greedy.tokens");
  const std::vector<std::int32_t> prompt(
      prompt_tensor.data<std::int32_t>(),
      prompt_tensor.data<std::int32_t>() + prompt_tensor.numel());
  std::cout << "golden tiny model: " << session.config().num_hidden_layers << " layers, hidden "
            << session.config().hidden_size << ", vocab " << session.config().vocab_size
            << "\nprompt ids:    ";
  for (std::int32_t id : prompt) std::cout << id << ' ';
  std::cout << "\ngenerated ids: ";
  Sampler greedy({});
  const GenerationResult result =
      generate(session, greedy, prompt, expected.numel(), {}, [](std::int32_t id) {
        std::cout << id << ' ' << std::flush;
        return true;
      });
  std::cout << "\ngolden ids:    ";
  bool same = static_cast<std::int64_t>(result.tokens.size()) == expected.numel();
  for (std::int64_t i = 0; i < expected.numel(); ++i) {
    std::cout << expected.at({i}) << ' ';
    same = same && result.tokens[static_cast<std::size_t>(i)] ==
                       static_cast<std::int32_t>(expected.at({i}));
  }
  std::cout << "\nmatch: "
            << (same ? "all 16 tokens equal the golden continuation ✓" : "DIFFERENT ✗") << "\n";
  report(session, load_seconds, result.stats);
  return same ? 0 : 1;
}

// The prompt of a generation run: --tokens, text (--prompt / --prompt-file / stdin), or random ids
// for a synthetic model.
std::vector<std::int32_t> prompt_tokens(const ProgramOptions& options,
                                        const std::optional<Tokenizer>& tokenizer,
                                        const ModelConfig& config) {
  if (options.tokens) return parse_token_list(*options.tokens);
  std::optional<std::string> text = options.prompt;
  if (!text && !options.synthetic.empty()) {
    if (options.random_prompt_length < 1 ||
        options.random_prompt_length > config.max_position_embeddings) {
      fail("--prompt-length must be between 1 and ", config.max_position_embeddings, ", got ",
           options.random_prompt_length);
    }
    std::vector<std::int32_t> ids;
    Sampler random({.seed = options.sampling.seed + 12345});
    for (std::int64_t i = 0; i < options.random_prompt_length; ++i) {
      ids.push_back(static_cast<std::int32_t>(random.next_uniform() *
                                              static_cast<double>(config.vocab_size)));
    }
    return ids;
  }
  if (!text && !::isatty(STDIN_FILENO)) {
    text = read_standard_input();  // a closed standard input is an error, not an empty prompt
    if (text->empty()) fail("no prompt: standard input was empty");
  }
  if (!text)
    fail("no prompt: give --prompt TEXT, --prompt-file F, --tokens, or text on standard input");
  if (!tokenizer) fail("a text prompt needs a tokenizer (--tokenizer PATH)");
  check_tokenizer_fits(*tokenizer, config);
  return tokenizer->encode(*text, {.bos = !options.no_bos});
}

int run(const ProgramOptions& options, const SessionFactory& make_session, bool no_arguments,
        const PreflightCheck& preflight) {
  if (preflight) preflight(options);
  set_thread_count(options.threads);
  const auto load_start = std::chrono::steady_clock::now();
  Model model = load_model(options);
  const ModelConfig config = model.config();
  const std::int64_t context = options.context_length > 0
                                   ? options.context_length
                                   : std::min<std::int64_t>(config.max_position_embeddings, 4096);
  check_context_length(config, context);  // before any session allocates its cache
  std::unique_ptr<InferenceSession> session = make_session(std::move(model), context, options);
  const double load_seconds = seconds_since(load_start);

  if (no_arguments) return run_default(*session, load_seconds);
  if (!options.dump_logits.empty())
    return dump_logits(*session, parse_token_list(*options.tokens), options.dump_logits);

  const bool needs_tokenizer = options.chat || !options.perplexity_file.empty() ||
                               (!options.tokens && options.synthetic.empty());
  const std::optional<Tokenizer> tokenizer = load_tokenizer(options, needs_tokenizer);
  if (tokenizer && needs_tokenizer) check_tokenizer_fits(*tokenizer, config);
  if (!options.perplexity_file.empty()) return run_perplexity(*session, *tokenizer, options);
  if (options.chat) return run_chat(*session, *tokenizer, options);

  const std::vector<std::int32_t> prompt = prompt_tokens(options, tokenizer, config);
  if (!options.dump_activations.empty())
    return dump_activations(*session, prompt, options.dump_activations);
  std::cerr << "model: "
            << (options.synthetic.empty()
                    ? (options.model_directory.empty() ? "golden tiny" : options.model_directory)
                    : "synthetic " + options.synthetic)
            << ", " << config.num_hidden_layers << " layers, on " << session->device()
            << ", context " << context << "\n";
  return run_generation(*session, tokenizer, prompt, options, load_seconds);
}

}  // namespace

int run_model_program(int argc, char** argv, const SessionFactory& make_session, bool gpu,
                      const PreflightCheck& preflight) {
  return run_main([&] {
    bool help = false;
    const ProgramOptions options = parse_program_options(argc, argv, gpu, help);
    if (help) {
      print_usage(argv[0], gpu);
      return 0;
    }
    return run(options, make_session, argc == 1, preflight);
  });
}

}  // namespace llama4
