// The two things chapter11_train does: train a model on a text file, or write the gradients of
// one sequence for checking by other tools.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/parallel/communicator.hpp"
#include "common/training/training_checkpoint.hpp"

namespace llama4 {

struct TrainOptions {
  std::filesystem::path config;      // config.json of the model to train
  std::filesystem::path tokenizer;   // tokenizer.model the texts are encoded with
  std::filesystem::path train_text;  // UTF-8 text
  std::filesystem::path validation_text;
  std::filesystem::path out;  // checkpoint directory written (and rewritten every save_every)
  std::optional<std::filesystem::path> resume;  // a checkpoint with training_state.safetensors
  TrainingSettings settings;
  std::int64_t save_every = 500;
  std::int64_t stop_after =
      0;  // stop (and save) after this many steps of this run; 0: run to the end
};

// Trains, printing progress, writing out/ (checkpoint, training_log.csv, loss.svg). Returns 0.
// With more than one rank in `communicator`, data-parallel (chapter 14): each rank trains on its
// share of every batch's sequences, the gradients are averaged over the ranks, and rank 0 alone
// validates, logs and writes.
int train(const TrainOptions& options, Communicator& communicator);

// Loads the checkpoint at `model`, computes the mean cross-entropy of predicting tokens[1..n-1]
// from the tokens before them and its gradient with respect to every weight, and writes them to
// `out` (f32: "loss", and each gradient under its weight's own name). Updates nothing.
int dump_gradients(const std::filesystem::path& model, const std::string& tokens,
                   const std::filesystem::path& out);

}  // namespace llama4
