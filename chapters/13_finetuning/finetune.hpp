// The two things chapter13_finetune does: fine-tune a model on conversations (all its weights, or
// a LoRA adapter), and measure how well a model answers the held-out ones.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/finetuning/lora.hpp"
#include "common/training/training_checkpoint.hpp"

namespace llama4 {

struct FinetuneOptions {
  std::filesystem::path model;       // the checkpoint to start from (chapter 11's by default)
  std::filesystem::path data;        // conversations to train on (JSONL)
  std::filesystem::path validation;  // conversations for the validation loss (JSONL)
  std::filesystem::path out;         // a checkpoint (full) or an adapter (LoRA), rewritten
                                     // every save_every steps
  std::optional<std::filesystem::path> resume;  // an earlier run's --out
  std::optional<LoraSettings> lora;             // absent: full fine-tuning
  TrainingSettings settings;
  std::int64_t save_every = 200;
  std::int64_t stop_after = 0;  // stop (and save) after this many steps of this run; 0: to the end
  // Full fine-tuning only: the chunked layers' attention_chunk_size, written into the output's
  // config.json (the same weights; README.md, "The chunk that hid the verse").
  std::optional<std::int64_t> attention_chunk_size;
};

// Trains, printing progress; writes out/ with training_log.csv and loss.svg. Returns 0.
int finetune(const FinetuneOptions& options);

struct EvaluateOptions {
  std::filesystem::path model;
  std::optional<std::filesystem::path> adapter;  // merged into the model first
  std::filesystem::path data;                    // conversations with "task" (make_instructions.py)
  std::int64_t per_task = 200;                   // conversations of each task, spread over the file
  std::int64_t max_new_tokens = 160;             // the answer's budget
  std::filesystem::path answers;                 // optional: every answer, as JSONL
  bool stop_loops = false;  // stop an answer where it starts repeating itself (evaluate.cpp)
};

// Answers `per_task` conversations of each task greedily and prints the figures of chapter 13's
// README: chrF of the rewrites (and of copying the input), book accuracy (and the majority
// baseline), the share of answers closed by <|eot|>. Returns 0.
int evaluate(const EvaluateOptions& options);

}  // namespace llama4
