// A challenge workload: the prompts, how many tokens each must generate, the batch sizes to run,
// and the accuracy an engine must keep to be scored at all. One versioned JSON file, committed, so
// two results on two machines are results on the same work:
//
//   {"format": "llama4-challenge-workload", "version": 1, "name": "small",
//    "model": "chapter11-trained", "context_length": 512, "batch_sizes": [1, 4, 8],
//    "accuracy": {"identical_greedy_tokens": 8, "max_mean_kl": 0.02,
//                 "min_top1_agreement": 0.95, "max_perplexity_ratio": 1.05},
//    "prompts": [{"text": "And God said", "ids": [4096, ...], "max_new_tokens": 32}, ...]}
//
// A prompt gives its text, its ids, or both. Text is encoded with BOS by the model's tokenizer;
// where the ids are given too they must be exactly that encoding, so a changed tokenizer is
// caught instead of quietly changing the work. "model" is "chapter11-trained" (the model chapter 11
// trained, golden/llama4-bible), "golden-tiny" (the golden random-weight model), or a path
// relative to the workload file; --model on the command line overrides it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/tokenizer/tokenizer.hpp"

namespace llama4::challenge {

inline constexpr int kWorkloadVersion = 1;

struct WorkloadPrompt {
  std::string text;                 // empty when only ids are given
  std::vector<std::int32_t> ids;    // what the model reads; filled from the text by resolve_prompts
  std::int64_t max_new_tokens = 0;  // generated greedily, all of them (no stop token)
};

// The accuracy gate (accuracy_gate.hpp): an engine outside these bounds scores nothing.
struct AccuracyBounds {
  std::int64_t identical_greedy_tokens = 0;  // the first N new tokens of every prompt, exactly
  double max_mean_kl = 0;                    // nats, teacher-forced, mean over every position
  double min_top1_agreement = 1;             // share of positions with the same most likely token
  double max_perplexity_ratio = 1;           // engine / reference, on the prompts' own tokens
};

struct Workload {
  std::filesystem::path file;
  std::string name;
  std::string description;
  std::string model;  // "chapter11-trained", "golden-tiny" or a path relative to the file
  std::int64_t context_length = 0;
  std::vector<std::int64_t> batch_sizes;  // increasing, each >= 1
  AccuracyBounds accuracy;
  std::vector<WorkloadPrompt> prompts;
};

// Reads and checks a workload file: every field present with its type and range, the format and
// version known. An Error names the file and the field (and the prompt's index) at fault.
Workload read_workload(const std::filesystem::path& file);

// The model directory or file the workload names ("chapter11-trained", "golden-tiny", a path).
std::filesystem::path workload_model_path(const Workload& workload);

// Gives every prompt its ids: text prompts are encoded with BOS (`tokenizer` is needed only if a
// prompt has text). Then checks each prompt against the model: ids inside the vocabulary, and the
// prompt with its new tokens inside the context. An Error names the prompt.
void resolve_prompts(Workload& workload, const Tokenizer* tokenizer, std::int64_t vocab_size);

}  // namespace llama4::challenge
