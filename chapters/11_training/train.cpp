// The training loop of chapter 11, top to bottom: load, tokenize, then step after step
//
//   batch -> forward + backward (loss, gradients) -> clip -> AdamW step -> log, validate, save
#include "chapters/11_training/train.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>

#include "common/debugging/data_paths.hpp"
#include "common/parallel/data_parallel.hpp"
#include "common/tensors/atomic_file.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/regular_file.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/tokenizer/tokenizer.hpp"
#include "common/tokenizer/utf8.hpp"
#include "common/training/batches.hpp"
#include "common/training/initialization.hpp"
#include "common/training/training_log.hpp"
#include "common/training/training_progress.hpp"

namespace llama4 {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The ids of a text file (no BOS: the batches add it). Empty text, or text that is not UTF-8, is
// an Error naming the file (and the byte offset).
std::vector<std::int32_t> tokenize_file(const Tokenizer& tokenizer, const fs::path& path) {
  const std::string text = read_regular_file(path);
  if (text.empty()) fail(path, " is empty: there is nothing to learn from");
  if (const std::optional<std::size_t> offset = find_invalid_utf8(text)) {
    fail(path, " is not valid UTF-8 at byte offset ", *offset,
         ": convert it (iconv -t UTF-8) or remove the stray bytes");
  }
  return tokenizer.encode(text);
}

// Things a config can say that this trainer cannot train; an Error naming the field.
void check_trainable(const ModelConfig& config, const Tokenizer& tokenizer,
                     const TrainingSettings& settings, const fs::path& source) {
  if (config.vocab_size != tokenizer.vocab_size()) {
    fail(source, ": vocab_size ", config.vocab_size, " but the tokenizer has ",
         tokenizer.vocab_size(), " ids (its ranks plus 2,048 special tokens)");
  }
  if (settings.tokens + 1 > config.max_position_embeddings) {
    fail("--sequence ", settings.tokens, " (+ BOS) is longer than max_position_embeddings ",
         config.max_position_embeddings, " in ", source);
  }
}

// The mean validation loss over the batches (each weighted by its number of predictions).
double validation_loss(TrainableModel& model, const std::vector<std::vector<std::int32_t>>& batches,
                       std::int64_t tokens) {
  double total = 0.0, count = 0.0;
  for (const std::vector<std::int32_t>& batch : batches) {
    const auto sequences = static_cast<std::int64_t>(batch.size()) / (tokens + 1);
    const double n = static_cast<double>(sequences * tokens);
    total += model.loss(batch, sequences) * n;
    count += n;
  }
  return total / count;
}

}  // namespace

namespace {

// Everything a run needs before its first step: what to train (from the files, or from the run
// resumed) and the tokenized texts.
struct TrainingRun {
  fs::path config_path, tokenizer_path;
  std::string config_text;
  std::optional<ModelConfig> config;
  std::optional<Tokenizer> tokenizer;
  std::optional<TrainableModel> model;
  TrainingSettings settings;
  std::optional<AdamW> optimizer;
  std::int64_t start = 0;
  std::vector<std::int32_t> train_ids, validation_ids;
};

TrainingRun prepare(const TrainOptions& options, int ranks) {
  TrainingRun run;
  // 1. What to train: the model's config and tokenizer, from the files or from the run resumed.
  run.config_path = options.resume ? *options.resume / "config.json" : options.config;
  run.tokenizer_path = options.resume ? *options.resume / kTrainedTokenizerFile : options.tokenizer;
  run.config_text = read_regular_file(run.config_path);
  run.config = parse_model_config(run.config_text, run.config_path.string());
  run.tokenizer = Tokenizer::load(run.tokenizer_path);

  run.model.emplace(*run.config);
  run.settings = options.settings;
  run.optimizer.emplace(run.settings.adamw, run.model->parameters().count());
  if (options.resume) {
    ResumedTraining resumed = load_training_state(*options.resume, *run.model);
    run.settings = resumed.settings;
    run.optimizer = std::move(resumed.optimizer);
    run.start = resumed.steps_done;
    std::printf(
        "resuming %s at step %lld of %lld (every training setting comes from the checkpoint; "
        "those on the command line are not used)\n",
        options.resume->c_str(), static_cast<long long>(run.start),
        static_cast<long long>(run.settings.steps));
  } else {
    initialise_weights(*run.model, static_cast<std::uint64_t>(run.settings.initialisation_seed));
  }
  check_trainable(*run.config, *run.tokenizer, run.settings, run.config_path);
  check_writable_directory(options.out);
  // Data parallelism (chapter 14): every rank takes an equal share of each batch's sequences.
  if (run.settings.sequences % ranks != 0)
    fail("--batch ", run.settings.sequences, " sequences cannot be divided evenly over ", ranks,
         " ranks");

  // 2. The data: both texts tokenized once; batches are windows of the token stream.
  if (options.train_text.empty() || options.validation_text.empty()) {
    fail("--train and --validation are needed (also with --resume: the checkpoint holds no text)");
  }
  run.train_ids = tokenize_file(*run.tokenizer, options.train_text);
  run.validation_ids = tokenize_file(*run.tokenizer, options.validation_text);
  return run;
}

}  // namespace

int train(const TrainOptions& options, Communicator& communicator) {
  // Every rank prepares; if one fails, all stop with its error (none waits in an all-reduce).
  std::optional<TrainingRun> run;
  on_every_rank(communicator, [&] { run.emplace(prepare(options, communicator.size())); });
  const bool main_rank = communicator.rank() == 0;  // the one that logs, validates and saves
  const fs::path& config_path = run->config_path;
  const ModelConfig& config = *run->config;
  const Tokenizer& tokenizer = *run->tokenizer;
  TrainableModel& model = *run->model;
  AdamW& optimizer = *run->optimizer;
  const TrainingSettings& settings = run->settings;
  const std::int64_t start = run->start;
  const std::vector<std::int32_t>& train_ids = run->train_ids;
  const std::vector<std::int32_t>& validation_ids = run->validation_ids;
  const BatchSampler sampler(train_ids, tokenizer.bos_id(), settings.sequences, settings.tokens,
                             settings.seed);
  const auto validation = validation_batches(validation_ids, tokenizer.bos_id(), settings.sequences,
                                             settings.tokens, settings.evaluation_batches);
  const std::int64_t tokens_per_step = settings.sequences * settings.tokens;
  std::printf(
      "model: %lld layers, hidden %lld, %lld experts, vocabulary %lld: %.2fM parameters\n"
      "data: %zu training tokens, %zu validation tokens; %lld tokens per step "
      "(%lld x %lld), %.1f passes over the training text in %lld steps\n",
      static_cast<long long>(config.num_hidden_layers), static_cast<long long>(config.hidden_size),
      static_cast<long long>(config.num_local_experts), static_cast<long long>(config.vocab_size),
      static_cast<double>(model.parameters().count()) / 1e6, train_ids.size(),
      validation_ids.size(), static_cast<long long>(tokens_per_step),
      static_cast<long long>(settings.sequences), static_cast<long long>(settings.tokens),
      static_cast<double>(tokens_per_step * settings.steps) / static_cast<double>(train_ids.size()),
      static_cast<long long>(settings.steps));
  if (communicator.size() > 1) {
    std::printf("data parallel: %d ranks, %lld sequences each per step\n", communicator.size(),
                static_cast<long long>(settings.sequences / communicator.size()));
  }

  // 3. The loop.
  // Resumed, the log goes on from the resumed checkpoint's (which --out may or may not be).
  std::optional<fs::path> earlier_log;
  if (options.resume) earlier_log = *options.resume / "training_log.csv";
  TrainingLog log(main_rank ? options.out / "training_log.csv" : fs::path(), earlier_log, start);
  // Rank 0 writes; every rank learns whether it could (a full disk must stop all of them).
  const auto save = [&](std::int64_t steps_done) {
    on_every_rank(communicator, [&] {
      if (!main_rank) return;
      const std::string title = "Training " + config_path.filename().string() + " (" +
                                std::to_string(steps_done) + " steps)";
      save_checkpoint(
          options.out, run->config_text, model, optimizer, settings, steps_done,
          run->tokenizer_path, /*with_state=*/true,
          {{"training_log.csv", log.csv()}, {"loss.svg", loss_plot_svg(log.rows(), title)}});
    });
  };
  const Clock::time_point run_start = Clock::now();
  const double seconds_before = log.rows().empty() ? 0.0 : log.rows().back().seconds;
  const std::int64_t last = options.stop_after > 0
                                ? std::min(settings.steps, start + options.stop_after)
                                : settings.steps;
  for (std::int64_t step = start; step < last; ++step) {
    const Clock::time_point step_start = Clock::now();
    const std::vector<std::int32_t> batch = sampler.batch(step);
    // This rank's sequences of the batch (all of them with one rank), then the gradients and the
    // loss averaged over the ranks: every rank holds the whole batch's gradient (chapter 14).
    const std::int64_t my_sequences = settings.sequences / communicator.size();
    double loss = model.forward_backward(sequences_of_rank(batch, settings.sequences, communicator),
                                         my_sequences);
    loss = average_over_ranks(communicator, model.parameters().gradients(), loss);
    const double norm =
        clip_gradient_norm(model.parameters().gradients(), settings.max_gradient_norm);
    if (!std::isfinite(loss))
      fail("the loss is ", loss, " at step ", step + 1, ": training diverged");
    const double rate = settings.schedule.at(step);
    optimizer.step(model.parameters(), rate);

    TrainingLogRow row;
    row.step = step + 1;
    row.learning_rate = rate;
    row.train_loss = loss;
    row.gradient_norm = norm;
    const double step_seconds = std::chrono::duration<double>(Clock::now() - step_start).count();
    const double elapsed = std::chrono::duration<double>(Clock::now() - run_start).count();
    row.seconds = seconds_before + elapsed;
    row.tokens_per_second = static_cast<double>(tokens_per_step) / step_seconds;
    const bool evaluate = row.step % settings.evaluate_every == 0 || row.step == settings.steps;
    if (evaluate && main_rank)
      row.validation_loss = validation_loss(model, validation, settings.tokens);
    log.add(row);
    show_training_progress(row.step, settings.steps, loss,
                           static_cast<double>(tokens_per_step * (row.step - start)) / elapsed,
                           elapsed, row.step - start);
    if (row.validation_loss) {
      std::printf("\nstep %lld: validation loss %.4f (perplexity %.2f)\n",
                  static_cast<long long>(row.step), *row.validation_loss,
                  std::exp(*row.validation_loss));
      write_file_atomically(
          options.out / "loss.svg",
          loss_plot_svg(log.rows(), "Training " + config_path.filename().string()));
    }
    if (row.step % options.save_every == 0 && row.step != last) save(row.step);
  }
  save(last);
  std::printf("\nwrote %s (step %lld of %lld)\n", options.out.c_str(), static_cast<long long>(last),
              static_cast<long long>(settings.steps));
  return 0;
}

}  // namespace llama4
