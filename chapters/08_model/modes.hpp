// The modes of the chapter 08 program, one file each, and what they share: where the tokenizer and
// the prompt come from (inputs.cpp) and the timing line (program.cpp). See program.hpp for the map.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "chapters/08_model/program.hpp"
#include "common/model/generation.hpp"
#include "common/model/inference_session.hpp"
#include "common/tokenizer/tokenizer.hpp"

namespace llama4 {

// --- The modes. Each returns the program's exit status.

// check_golden.cpp: the golden tiny model against the golden data; 0 when everything matches.
int check_golden(InferenceSession& session, double load_seconds);
// generate.cpp: continues `prompt`, printing text as it comes (or ids, without a tokenizer).
int generate_text(InferenceSession& session, const std::optional<Tokenizer>& tokenizer,
                  const std::vector<std::int32_t>& prompt, const ProgramOptions& options,
                  double load_seconds);
// chat.cpp: a conversation on standard input and output.
int chat(InferenceSession& session, const Tokenizer& tokenizer, const ProgramOptions& options);
// dump_logits.cpp: float32 logits [ids, vocab] to `path`; nothing on stdout. One forward pass, or
// with `prefill` the first `prefill` ids in one pass and each later id alone (decode steps).
int dump_logits(InferenceSession& session, const std::vector<std::int32_t>& ids,
                std::optional<std::int64_t> prefill, const std::string& path);
// dump_activations.cpp: every stage of one forward pass to DIR/activations.safetensors.
int dump_activations(InferenceSession& session, const std::vector<std::int32_t>& ids,
                     const std::string& directory);
// perplexity.cpp: the perplexity of a text file.
int measure_perplexity(InferenceSession& session, const Tokenizer& tokenizer,
                       const std::string& path);

// multiple_choice.cpp: the accuracy on multiple-choice questions, by log-likelihood.
int answer_multiple_choice(InferenceSession& session, const Tokenizer& tokenizer,
                           const std::string& path);

// --- inputs.cpp: where the inputs come from.

std::string read_text_file(const std::string& path);
// "1,2,3" or "@ids.txt" (ids separated by commas or whitespace).
std::vector<std::int32_t> parse_token_list(const std::string& argument);
// --tokenizer, else the model directory's, else the shared one; nullopt when none exists and
// `required` is false.
std::optional<Tokenizer> load_tokenizer(const ProgramOptions& options, bool required);
// An Error when the model's vocabulary is smaller than the tokenizer's (it cannot take text),
// naming the synthetic shapes that can.
void check_tokenizer_fits(const Tokenizer& tokenizer, const ModelConfig& config);
// The prompt of a generation run: --tokens, text (--prompt, --prompt-file, standard input), or
// random ids for a synthetic model.
std::vector<std::int32_t> prompt_tokens(const ProgramOptions& options,
                                        const std::optional<Tokenizer>& tokenizer,
                                        const ModelConfig& config);

// --- program.cpp

// The timing line on standard error: load, prefill, time to first token, decode.
void print_timing(const InferenceSession& session, double load_seconds,
                  const GenerationStats& stats);

}  // namespace llama4
