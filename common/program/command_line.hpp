// The command line of every program in the book, parsed by one library: CLI11 (Debian
// libcli11-dev, header-only).
//
// Each program lists its options at the top of its main, one line each:
//
//   CommandLine command_line("Chapter 01: tensors and checkpoints.");
//   command_line.add_model(model, "a Hugging Face checkpoint directory");
//   command_line.app().add_flag("--all", all, "list every tensor, not only layer 0's");
//   command_line.parse(argc, argv);
//
// and gets the same behaviour as every other program:
//
//   --help, -h        the options, each with what it does and its range; exit status 0
//   a bad command     an unknown option, a missing value, a value that is not a number or out of
//   line              its range, options that exclude each other: "error: --threads: expected an
//                     integer from 1 to 1024, got "0"", naming the option, and exit status 2
//
// What the options name is checked when it is used: a missing or broken file is an error of the
// run (exit status 1, naming the file), not of the command line.
//
// The options several programs share (--model, --threads, --ctx, -n, --temperature, --top-k, ...)
// are added by the functions below, so each one's range is written once, here, and checked before
// the program does any work.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "common/model/sampler.hpp"

namespace llama4 {

// The longest context a program may ask for: Llama 4 Scout's 10M tokens (its max_position_
// embeddings, 10485760). The model's own limit is checked when it is loaded.
inline constexpr std::int64_t kLongestContext = 10'485'760;

// Checks for a program's own numeric options (CLI11's own let "-1" through as 2^64 - 1 and "nan" as
// a number). Use with option->check(integer_in(1, 100)); the error names the option and the range.
CLI::Validator integer_in(std::int64_t low, std::int64_t high);
CLI::Validator any_unsigned_integer();              // 0 to 2^64 - 1: seeds
CLI::Validator number_in(double low, double high);  // finite, low <= x <= high

class CommandLine {
 public:
  // `description` is the first paragraph of --help: what the program does.
  explicit CommandLine(const std::string& description);

  // For options of the program's own, added with CLI11's add_option / add_flag.
  CLI::App& app() { return app_; }

  // --model DIR. `what` says what it may be (a checkpoint directory, or a config.json).
  CLI::Option* add_model(std::string& path, const std::string& what);
  CLI::Option* add_model(std::optional<std::string>& path, const std::string& what);
  // --threads N: 1..1024 CPU threads (not given: OpenMP's default, every core).
  CLI::Option* add_threads(std::optional<int>& threads);
  // --ctx N: 1..kLongestContext tokens (not given: the program's default).
  CLI::Option* add_context_length(std::optional<std::int64_t>& context_length,
                                  const std::string& default_text);
  // -n N: at most N new tokens, 0..kLongestContext.
  CLI::Option* add_max_new_tokens(std::int64_t& max_new_tokens);
  // --temperature --top-k --top-p --min-p --repeat-penalty --seed, with their ranges.
  void add_sampling(SamplingOptions& sampling);

  // Parses the arguments. --help prints the help and exits with status 0; a bad option or value
  // prints "error: ..." naming it and exits with status 2. Returns only when every option is good.
  void parse(int argc, char** argv);
  // The same without exiting, for tests and the command-line fuzzer: false after --help (nothing
  // printed), a llama4::Error with the message parse() would print for a bad command line.
  bool try_parse(int argc, char** argv);

 private:
  CLI::App app_;
};

}  // namespace llama4
