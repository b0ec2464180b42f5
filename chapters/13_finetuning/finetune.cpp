// The fine-tuning loop of chapter 13, top to bottom: load, tokenize and pack, then step after step
//
//   batch of packed conversations -> forward + backward (loss on the assistants' tokens only)
//   -> clip -> AdamW step on what is trained (every weight, or only the adapter's A and B)
//   -> log, validate, save
//
// It is chapter 11's loop (chapters/11_training/train.cpp) with three changes: the batches are
// packed conversations with positions and a loss mask, the model starts from a trained checkpoint,
// and with --lora the optimizer sees only the adapter.
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "chapters/13_finetuning/finetune.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/finetuning/adapter_file.hpp"
#include "common/finetuning/conversation_file.hpp"
#include "common/finetuning/lora_training.hpp"
#include "common/finetuning/packed_batches.hpp"
#include "common/tensors/atomic_file.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/json_document.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/regular_file.hpp"
#include "common/tokenizer/tokenizer.hpp"
#include "common/training/training_log.hpp"
#include "common/training/training_progress.hpp"

namespace llama4 {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kTrainingStateFile = "training_state.safetensors";

std::vector<SupervisedExample> read_examples(const Tokenizer& tokenizer, const fs::path& path) {
  std::vector<SupervisedExample> examples;
  for (const Conversation& conversation : read_conversation_file(path))
    examples.push_back(tokenize_conversation(tokenizer, conversation));
  return examples;
}

// What a step changes: every weight of the model (full fine-tuning), or only a LoRA adapter on
// top of the frozen model. The loop below does not need to know which.
class Trainee {
 public:
  Trainee(const ModelConfig& config, const Checkpoint& base,
          const std::optional<LoraSettings>& lora)
      : model_(config) {
    model_.load_weights(base);
    if (lora) {
      adapter_ = std::make_unique<LoraAdapter>(config, *lora);
      lora_ = std::make_unique<LoraTraining>(model_, *adapter_);
    }
  }
  bool is_lora() const { return adapter_ != nullptr; }
  TrainableModel& model() { return model_; }
  LoraAdapter& adapter() { return *adapter_; }
  Parameters& trained() { return adapter_ ? adapter_->parameters() : model_.parameters(); }
  double forward_backward(const TrainingBatch& batch) {
    return lora_ ? lora_->forward_backward(batch) : model_.forward_backward(batch);
  }
  double loss(const TrainingBatch& batch) {
    return lora_ ? lora_->loss(batch) : model_.loss(batch);
  }

 private:
  TrainableModel model_;
  std::unique_ptr<LoraAdapter> adapter_;
  std::unique_ptr<LoraTraining> lora_;  // after adapter_: it refers to it
};

// The mean loss over the assistants' tokens of the first `batches` batches of the validation
// conversations (packed in file order, the same every time).
double validation_loss(Trainee& trainee, const PackedSequences& validation, std::int64_t sequences,
                       std::int64_t batches) {
  double total = 0, counted = 0;
  for (std::int64_t first = 0; first < validation.sequences() && batches > 0;
       first += sequences, --batches) {
    const std::int64_t count = std::min(sequences, validation.sequences() - first);
    const TrainingBatch batch = validation.batch(first, count);
    double n = 0;
    for (const std::uint8_t counts : batch.loss_mask) n += counts;
    if (n == 0) continue;
    total += trainee.loss(batch) * n;
    counted += n;
  }
  return total / counted;
}

double peak_memory_megabytes() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// config.json's text with the chunked layers' chunk set to `chunk` (in text_config where the
// model is nested there, as in Hugging Face's Llama 4 checkpoints). Only the config changes: a
// chunk is a rule about which keys a query sees, not a weight.
std::string with_attention_chunk_size(const std::string& config_text, std::int64_t chunk,
                                      const fs::path& config_path) {
  // config_text has passed parse_model_config: an object, with text_config an object if present.
  nlohmann::json config = parse_json_document(config_text, config_path.string());
  nlohmann::json& text = config.contains("text_config") ? config["text_config"] : config;
  text["attention_chunk_size"] = chunk;
  return config.dump(2) + "\n";
}

}  // namespace

int finetune(const FinetuneOptions& options) {
  // 1. The model to start from, and what is trained. Resumed, the run's own files say both.
  const bool resume_lora = options.resume && fs::exists(*options.resume / "adapter_config.json");
  const fs::path base_directory = options.resume && !resume_lora ? *options.resume : options.model;
  const fs::path config_path = base_directory / "config.json";
  std::string config_text = read_regular_file(config_path);
  ModelConfig config = parse_model_config(config_text, config_path.string());  // names any error
  if (options.attention_chunk_size) {
    if (options.resume)
      fail("--attention-chunk with --resume: the run's config.json holds its chunk");
    if (options.lora)
      fail(
          "--attention-chunk needs full fine-tuning: a LoRA adapter keeps its base model's config");
    config_text =
        with_attention_chunk_size(config_text, *options.attention_chunk_size, config_path);
    config = parse_model_config(config_text, config_path.string());  // what the output will say
  }
  const fs::path tokenizer_path = checkpoint_tokenizer_path(base_directory);
  if (tokenizer_path.empty()) fail(base_directory, " holds no tokenizer (tokenizer.tiktoken)");
  const Tokenizer tokenizer = Tokenizer::load(tokenizer_path);
  if (config.vocab_size != tokenizer.vocab_size()) {
    fail(config_path, ": vocab_size ", config.vocab_size, " but its tokenizer has ",
         tokenizer.vocab_size(), " ids");
  }
  const std::optional<LoraSettings> lora =
      resume_lora ? std::optional(read_adapter_config(*options.resume)) : options.lora;
  Trainee trainee(config, Checkpoint::open(base_directory), lora);

  TrainingSettings settings = options.settings;
  AdamW optimizer(settings.adamw, trainee.trained().count());
  std::int64_t start = 0;
  if (options.resume) {
    ResumedTraining resumed =
        read_training_state(*options.resume / kTrainingStateFile, trainee.trained());
    settings = resumed.settings;
    optimizer = std::move(resumed.optimizer);
    start = resumed.steps_done;
    std::printf("resuming %s at step %lld of %lld (its settings, not the command line's)\n",
                options.resume->c_str(), static_cast<long long>(start),
                static_cast<long long>(settings.steps));
  } else if (trainee.is_lora()) {
    trainee.adapter().initialise(static_cast<std::uint64_t>(settings.initialisation_seed));
  }
  if (settings.tokens + 1 > config.max_position_embeddings) {
    fail("--sequence ", settings.tokens, " (+ BOS) is longer than max_position_embeddings ",
         config.max_position_embeddings, " in ", config_path);
  }

  // 2. The data: every conversation tokenized once, in the chat format, with its loss mask.
  if (options.data.empty() || options.validation.empty())
    fail("--data and --validation are needed (also with --resume: the run holds no data)");
  PackedBatches batches(read_examples(tokenizer, options.data), settings.sequences, settings.tokens,
                        tokenizer.pad_id(), settings.seed);
  const PackedSequences validation = pack_examples(read_examples(tokenizer, options.validation),
                                                   settings.tokens, tokenizer.pad_id());
  check_writable_directory(options.out);  // after the data's errors: they leave no directory
  const std::int64_t tokens_per_step = settings.sequences * settings.tokens;
  std::printf(
      "model: %s, %.2fM parameters; training %s: %.3fM parameters\n"
      "data: %lld batches of %lld x %lld tokens per pass, %.1f%% of targets trained (the "
      "assistants' tokens); %.2f passes in %lld steps\n",
      base_directory.c_str(), static_cast<double>(trainee.model().parameters().count()) / 1e6,
      trainee.is_lora() ? ("a LoRA adapter of rank " + std::to_string(lora->rank)).c_str()
                        : "every weight",
      static_cast<double>(trainee.trained().count()) / 1e6,
      static_cast<long long>(batches.batches_in_epoch(0)),
      static_cast<long long>(settings.sequences), static_cast<long long>(settings.tokens),
      100.0 * static_cast<double>(batches.trained_targets_per_epoch()) /
          static_cast<double>(batches.batches_in_epoch(0) * tokens_per_step),
      batches.epochs_after(settings.steps), static_cast<long long>(settings.steps));

  // 3. The loop.
  std::optional<fs::path> earlier_log;
  if (options.resume) earlier_log = *options.resume / "training_log.csv";
  TrainingLog log(options.out / "training_log.csv", earlier_log, start);
  const std::string title = std::string(trainee.is_lora() ? "LoRA" : "Full") + " fine-tuning of " +
                            base_directory.filename().string();
  const auto save = [&](std::int64_t steps_done) {
    const std::vector<std::pair<std::string, std::string>> extra = {
        {"training_log.csv", log.csv()}, {"loss.svg", loss_plot_svg(log.rows(), title)}};
    if (!trainee.is_lora()) {
      save_checkpoint(options.out, config_text, trainee.model(), optimizer, settings, steps_done,
                      tokenizer_path, /*with_state=*/true, extra);
      return;
    }
    write_directory_atomically(options.out, [&](const fs::path& staging) {
      // The base model as a path from where the program runs (PEFT reads it as a path or a hub
      // name): "golden/llama4-bible" from the repository's root.
      write_adapter_files(staging, trainee.adapter(), weight_prefix_of(config_text),
                          fs::proximate(base_directory).string());
      write_training_state(staging / kTrainingStateFile, trainee.trained(), optimizer, settings,
                           steps_done);
      for (const auto& [name, bytes] : extra) write_file_atomically(staging / name, bytes);
    });
  };
  const Clock::time_point run_start = Clock::now();
  const double seconds_before = log.rows().empty() ? 0.0 : log.rows().back().seconds;
  const std::int64_t last = options.stop_after > 0
                                ? std::min(settings.steps, start + options.stop_after)
                                : settings.steps;
  for (std::int64_t step = start; step < last; ++step) {
    const Clock::time_point step_start = Clock::now();
    const double loss = trainee.forward_backward(batches.batch(step));
    if (!std::isfinite(loss))
      fail("the loss is ", loss, " at step ", step + 1, ": training diverged");
    const double norm =
        clip_gradient_norm(trainee.trained().gradients(), settings.max_gradient_norm);
    const double rate = settings.schedule.at(step);
    optimizer.step(trainee.trained(), rate);

    TrainingLogRow row;
    row.step = step + 1;
    row.learning_rate = rate;
    row.train_loss = loss;
    row.gradient_norm = norm;
    const double step_seconds = std::chrono::duration<double>(Clock::now() - step_start).count();
    const double elapsed = std::chrono::duration<double>(Clock::now() - run_start).count();
    row.seconds = seconds_before + elapsed;
    row.tokens_per_second = static_cast<double>(tokens_per_step) / step_seconds;
    if (row.step % settings.evaluate_every == 0 || row.step == settings.steps) {
      row.validation_loss =
          validation_loss(trainee, validation, settings.sequences, settings.evaluation_batches);
    }
    log.add(row);
    show_training_progress(row.step, settings.steps, loss,
                           static_cast<double>(tokens_per_step * (row.step - start)) / elapsed,
                           elapsed, row.step - start);
    if (row.validation_loss) {
      std::printf("\nstep %lld: validation loss %.4f on the assistants' tokens\n",
                  static_cast<long long>(row.step), *row.validation_loss);
    }
    if (row.step % options.save_every == 0 && row.step != last) save(row.step);
  }
  save(last);
  std::printf("\nwrote %s (step %lld of %lld); peak memory %.0f MB\n", options.out.c_str(),
              static_cast<long long>(last), static_cast<long long>(settings.steps),
              peak_memory_megabytes());
  return 0;
}

}  // namespace llama4
