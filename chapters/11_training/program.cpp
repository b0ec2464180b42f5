// The options of chapter11_train, and what runs: shared by chapter11_train (one process) and
// chapter14_train (data parallel over MPI ranks, chapter 14).
#include <iostream>

#include "chapters/11_training/program.hpp"
#include "chapters/11_training/train.hpp"
#include "common/program/command_line.hpp"
#include "common/program/run_main.hpp"
#include "common/tensors/error.hpp"

namespace llama4 {

int run_training_program(int argc, char** argv, Communicator& communicator) {
  using llama4::integer_in;
  using llama4::number_in;
  llama4::TrainOptions options;
  llama4::TrainingSettings& s = options.settings;
  std::string model, tokens, gradients_out, resume;
  llama4::CommandLine command_line(
      "Chapter 11: train a Llama 4 model on a text file, from scratch, on the CPU; or write the "
      "gradients of one sequence for checking by other tools.");
  CLI::App& app = command_line.app();
  // What to train on, and where the model goes.
  app.add_option("--config", options.config, "config.json of the model to train");
  app.add_option("--tokenizer", options.tokenizer, "tokenizer.model the texts are encoded with");
  app.add_option("--train", options.train_text, "training text (UTF-8)");
  app.add_option("--validation", options.validation_text, "validation text (UTF-8)");
  app.add_option("--out", options.out, "checkpoint directory to write");
  app.add_option("--resume", resume, "continue the run saved in this checkpoint directory");
  // How to train.
  const auto count = [&](const char* name, std::int64_t& value, const char* what) {
    app.add_option(name, value, what)->check(integer_in(1, 100'000'000))->capture_default_str();
  };
  count("--steps", s.steps, "optimizer steps in all");
  count("--batch", s.sequences, "sequences per step (B)");
  count("--sequence", s.tokens, "tokens per sequence (T)");
  count("--warmup", s.schedule.warmup_steps, "warm-up steps");
  count("--eval-every", s.evaluate_every, "validation loss every N steps");
  count("--eval-batches", s.evaluation_batches, "validation batches each time");
  count("--save-every", options.save_every, "write the checkpoint every N steps");
  app.add_option("--stop-after", options.stop_after, "stop (and save) after N steps of this run")
      ->check(integer_in(0, 100'000'000));
  app.add_option("--learning-rate", s.schedule.peak, "peak learning rate")
      ->check(number_in(0, 1))
      ->capture_default_str();
  app.add_option("--min-learning-rate", s.schedule.minimum,
                 "learning rate at the end of the cosine")
      ->check(number_in(0, 1))
      ->capture_default_str();
  app.add_option("--weight-decay", s.adamw.weight_decay, "AdamW's weight decay")
      ->check(number_in(0, 1))
      ->capture_default_str();
  app.add_option("--max-gradient-norm", s.max_gradient_norm,
                 "clip the gradient's global norm to this")
      ->check(number_in(1e-6, 1e6))
      ->capture_default_str();
  app.add_option("--seed", s.seed, "seed of the batches")->capture_default_str();
  app.add_option("--init-seed", s.initialisation_seed, "seed of the initial weights")
      ->check(integer_in(0, 1 << 30))
      ->capture_default_str();
  // Checking the gradients with other tools.
  app.add_option("--model", model, "checkpoint to differentiate (with --dump-gradients)");
  app.add_option("--tokens", tokens, "ids, comma-separated, or @FILE holding them");
  app.add_option("--dump-gradients", gradients_out,
                 "write the loss and every weight's gradient here");
  command_line.parse(argc, argv);

  return llama4::run_main([&] {
    if (!gradients_out.empty()) {
      if (communicator.size() > 1) fail("--dump-gradients runs in one process (chapter11_train)");
      if (model.empty() || tokens.empty()) {
        llama4::fail("--dump-gradients needs --model DIR and --tokens");
      }
      return llama4::dump_gradients(model, tokens, gradients_out);
    }
    if (!resume.empty()) options.resume = resume;
    if (options.out.empty()) llama4::fail("--out DIR is required (where the model goes)");
    if (!options.resume && (options.config.empty() || options.tokenizer.empty())) {
      llama4::fail("training needs --config and --tokenizer (or --resume DIR)");
    }
    s.schedule.total_steps = s.steps;
    return llama4::train(options, communicator);
  });
}

}  // namespace llama4
