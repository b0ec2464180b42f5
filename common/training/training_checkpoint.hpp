// What the trainer writes, and how training resumes.
//
// A checkpoint directory is an ordinary Hugging Face Llama 4 checkpoint that chapter 08 (and
// golden/reference.py, and transformers) load, plus one file only the trainer reads:
//
//   config.json                  the model's config, as given to the trainer
//   model.safetensors            the weights in bf16, under their HF names ("language_model."
//                                in front when config.json nests the model under text_config,
//                                as Meta's released checkpoints do)
//   tokenizer.tiktoken           the tokenizer the training text was encoded with (the ranks
//                                trained here; not named tokenizer.model, which is Meta's file)
//   training_state.safetensors   the f32 master weights, AdamW's two moments, the step reached
//                                and every setting of the run, so that --resume continues the
//                                very same loss curve (bf16 weights alone would not: rounding
//                                them changes the model)
//
// The directory appears whole or not at all: it is written next to its final place and renamed
// into it at the end, so an interrupted save never leaves a checkpoint that loads half a model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/training/adamw.hpp"
#include "common/training/trainable_model.hpp"

namespace llama4 {

// Everything that defines a training run (chapter11_train's options).
struct TrainingSettings {
  std::int64_t steps = 1000;
  std::int64_t sequences = 16;  // B
  std::int64_t tokens = 256;    // T
  LearningRateSchedule schedule;
  AdamWSettings adamw;
  double max_gradient_norm = 1.0;
  std::uint64_t seed = 1;
  std::int64_t evaluate_every = 100;
  std::int64_t evaluation_batches = 8;
  std::int64_t initialisation_seed = 1;

  std::string to_json() const;
  static TrainingSettings from_json(const std::string& text, const std::string& source);
};

// Writes `directory` (replacing an older checkpoint there). config_text: config.json's bytes;
// tokenizer: the tokenizer file to copy in. with_state: also training_state.safetensors.
// extra_files: more files to put in the directory, (name, bytes) (the training log and plot).
void save_checkpoint(const std::filesystem::path& directory, const std::string& config_text,
                     TrainableModel& model, const AdamW& optimizer,
                     const TrainingSettings& settings, std::int64_t steps_done,
                     const std::filesystem::path& tokenizer, bool with_state,
                     const std::vector<std::pair<std::string, std::string>>& extra_files = {});

struct ResumedTraining {
  TrainingSettings settings;
  std::int64_t steps_done = 0;
  AdamW optimizer;  // with its moments and step count restored
};

// Loads training_state.safetensors of `directory` into the model (which must have been made from
// the same config.json) and returns the run's settings, progress and optimizer. A missing file, a
// weight missing or of another shape is an Error naming the file and the tensor.
ResumedTraining load_training_state(const std::filesystem::path& directory, TrainableModel& model);

// Writes a directory whole or not at all: fill(staging) writes the files into a new sibling
// directory, which then takes the place of `directory` (an older one there is replaced). If fill
// throws, nothing is left. The checkpoints above, and chapter 13's adapters, are written so.
void write_directory_atomically(const std::filesystem::path& directory,
                                const std::function<void(const std::filesystem::path&)>& fill);

// The state of a training run over `parameters`, in one safetensors file: each parameter's f32
// value ("weight.<name>"), AdamW's two moments ("first_moment.<name>", "second_moment.<name>"),
// and in the metadata the steps done and the settings (plus extra_metadata). Chapter 11 keeps one
// beside a checkpoint, chapter 13 beside an adapter.
void write_training_state(const std::filesystem::path& path, Parameters& parameters,
                          const AdamW& optimizer, const TrainingSettings& settings,
                          std::int64_t steps_done,
                          const std::map<std::string, std::string>& extra_metadata = {});
// Reads it back into `parameters` (which must have the same names and shapes: an Error naming the
// file and the tensor otherwise).
ResumedTraining read_training_state(const std::filesystem::path& path, Parameters& parameters);

// "language_model." when config.json's text nests the text model under text_config (as Meta's
// Llama4ForConditionalGeneration checkpoints do), else "": the prefix of every weight's name.
std::string weight_prefix_of(const std::string& config_text);

// Checks, before an hour of training, that `directory` can be created and written: an Error
// naming it and the system's reason otherwise.
void check_writable_directory(const std::filesystem::path& directory);

}  // namespace llama4
