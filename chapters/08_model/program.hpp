// The chapter 08 program, shared with chapter 09: everything except where the model runs.
//
// chapter08_model passes a factory that wraps the loaded model in a CpuSession; chapter09_hip
// passes one that uploads it to a GPU. Both get the same command line, modes and output.
//
// The program is cut into one file per mode, each read top to bottom:
//
//   program.cpp           the options, loading the model, and which mode runs
//   check_golden.cpp      --check-golden: the golden tiny model, stage by stage
//   generate.cpp          a prompt continued, streamed
//   chat.cpp              --chat: a conversation, one user line per turn
//   dump_logits.cpp       --dump-logits: the logits of one forward pass, for scripts
//   dump_activations.cpp  --dump-activations: every stage of one forward pass, for
//                         chapter08_compare
//   perplexity.cpp        --perplexity: how well the model predicts a text
//   multiple_choice.cpp   --multiple-choice: which ending of each question the model prefers
//   inputs.cpp            where the tokenizer, the prompt and the token ids come from
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/model/inference_session.hpp"
#include "common/model/model.hpp"
#include "common/model/sampler.hpp"

namespace llama4 {

struct ProgramOptions {
  bool check_golden = false;          // --check-golden (also: no arguments at all)
  std::string model_directory;        // --model DIR (default: the golden tiny checkpoint)
  std::string adapter;                // --adapter DIR: a LoRA adapter merged at load (chapter 13)
  std::string synthetic;              // --synthetic NAME
  std::uint64_t weight_seed = 1;      // --weight-seed N (synthetic weights)
  std::string tokenizer;              // --tokenizer PATH
  std::optional<std::string> prompt;  // --prompt TEXT (or --prompt-file, or standard input)
  std::string prompt_file;            // --prompt-file F
  bool chat = false;                  // --chat
  std::optional<std::string> system;  // --system TEXT
  std::int64_t max_new_tokens = 256;  // -n N
  std::optional<std::int64_t> context_length;  // --ctx N (default: max_position_embeddings, at
                                               // most 4096)
  SamplingOptions sampling;  // --temperature --top-k --top-p --min-p --repeat-penalty --seed
  std::optional<std::string> tokens;           // --tokens 1,2,3 or @FILE
  std::string dump_logits;                     // --dump-logits OUT.bin
  std::optional<std::int64_t> prefill_tokens;  // --prefill-tokens N (with --dump-logits)
  std::string dump_activations;                // --dump-activations DIR
  std::string perplexity_file;                 // --perplexity FILE
  std::string multiple_choice_file;            // --multiple-choice FILE.jsonl
  std::int64_t random_prompt_length = 128;  // --prompt-length N (synthetic models without a prompt)
  std::optional<int> threads;               // --threads N (default: every core)
  std::optional<bool> touch;  // --touch / --no-touch (default: when it fits in half the RAM)
  int device = 0;             // --device N (chapter 09)
  bool no_bos = false;        // --no-bos
  std::string quantize;       // --quantize FORMAT (chapter 12; CPU only)
  bool exact_bf16 = false;    // --exact-bf16: bf16 weights times f32 x, no vdpbf16ps (chapter 12)
};

using SessionFactory = std::function<std::unique_ptr<InferenceSession>(
    Model model, std::int64_t context_length, const ProgramOptions&)>;

// Called with the parsed options before the model is loaded, to fail early (chapter 09: "no usable
// GPU") rather than after building a model that cannot run. Throws llama4::Error to stop.
using PreflightCheck = std::function<void(const ProgramOptions&)>;

// Parses argv, runs the requested mode, returns the exit status (0 ok, 1 error or a failed check,
// 2 a bad command line). `gpu` adds --device to the options.
// The options of argv, as run_model_program parses them, without running anything or exiting:
// nullopt for --help, a llama4::Error for a bad command line (the command-line fuzzer uses it).
std::optional<ProgramOptions> parse_program_options(int argc, char** argv, bool gpu);

int run_model_program(int argc, char** argv, const SessionFactory& make_session, bool gpu,
                      const PreflightCheck& preflight = {});

}  // namespace llama4
