// chapter13_finetune: teach chapter 11's model to answer in Llama 4's chat format.
//
//   chapter13_finetune --data train.jsonl --validation validation.jsonl --out DIR     every weight
//   chapter13_finetune --data ... --validation ... --lora 8 --out DIR                 a LoRA
//   adapter chapter13_finetune --resume DIR --data ... --validation ... --out DIR             go on
//   chapter13_finetune --evaluate validation.jsonl [--adapter DIR]     how well it answers
//
// Chapter 13's README explains what happens inside; this file only reads the options.
#include "chapters/13_finetuning/finetune.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/program/command_line.hpp"
#include "common/program/run_main.hpp"
#include "common/tensors/error.hpp"

int main(int argc, char** argv) {
  using llama4::integer_in;
  using llama4::number_in;
  llama4::FinetuneOptions options;
  llama4::TrainingSettings& s = options.settings;
  // Fine-tuning's defaults differ from training from scratch: far fewer steps, no weight decay (it
  // would pull the trained weights towards zero), a short warm-up.
  s.steps = 500;
  s.schedule.warmup_steps = 20;
  s.adamw.weight_decay = 0.0;
  s.evaluate_every = 50;
  std::string model, resume, adapter, evaluate_file, answers;
  std::int64_t lora_rank = 0, per_task = 200, max_new_tokens = 160;
  std::optional<double> lora_alpha, learning_rate;
  std::vector<std::string> lora_targets;
  llama4::CommandLine command_line(
      "Chapter 13: fine-tune a Llama 4 model on conversations in the chat format (every weight, "
      "or a LoRA adapter), or measure how well it answers held-out ones.");
  CLI::App& app = command_line.app();
  command_line.add_model(model, "checkpoint to fine-tune (default: chapter 11's trained model)");
  app.add_option("--data", options.data, "conversations to train on, one JSON object per line");
  app.add_option("--validation", options.validation, "conversations for the validation loss");
  app.add_option("--out", options.out, "where the checkpoint (or the adapter) goes");
  app.add_option("--resume", resume, "continue the run saved in this directory");
  app.add_option("--lora", lora_rank, "train a LoRA adapter of this rank (default: every weight)")
      ->check(integer_in(1, 4096));
  app.add_option("--lora-alpha", lora_alpha, "LoRA's alpha (default: twice the rank)")
      ->check(number_in(1e-6, 1e6));
  app.add_option("--lora-targets", lora_targets,
                 "modules to adapt (default: q_proj k_proj v_proj o_proj gate_proj up_proj "
                 "down_proj)")
      ->delimiter(',');
  const auto count = [&](const char* name, std::int64_t& value, const char* what) {
    app.add_option(name, value, what)->check(integer_in(1, 100'000'000))->capture_default_str();
  };
  count("--steps", s.steps, "optimizer steps in all");
  count("--batch", s.sequences, "sequences per step (B)");
  count("--sequence", s.tokens, "tokens per sequence (T); conversations are packed into them");
  count("--warmup", s.schedule.warmup_steps, "warm-up steps");
  count("--eval-every", s.evaluate_every, "validation loss every N steps");
  count("--eval-batches", s.evaluation_batches, "validation batches each time");
  count("--save-every", options.save_every, "write the output every N steps");
  std::int64_t attention_chunk = 0;
  app.add_option("--attention-chunk", attention_chunk,
                 "full fine-tuning: set the chunked layers' attention_chunk_size (the output's "
                 "config.json says it)")
      ->check(integer_in(1, 100'000'000));
  app.add_option("--stop-after", options.stop_after, "stop (and save) after N steps of this run")
      ->check(integer_in(0, 100'000'000));
  app.add_option("--learning-rate", learning_rate,
                 "peak learning rate (default: 3e-4, or 2e-3 with --lora); the cosine ends at a "
                 "tenth of it")
      ->check(number_in(0, 1));
  app.add_option("--weight-decay", s.adamw.weight_decay, "AdamW's weight decay")
      ->check(number_in(0, 1))
      ->capture_default_str();
  app.add_option("--seed", s.seed, "seed of the order of the conversations")->capture_default_str();
  app.add_option("--init-seed", s.initialisation_seed, "seed of the adapter's A matrices")
      ->check(integer_in(0, 1 << 30))
      ->capture_default_str();
  auto* evaluating = app.add_option("--evaluate", evaluate_file,
                                    "answer the conversations of this file (make_instructions.py's "
                                    "validation.jsonl) and print chapter 13's figures");
  app.add_option("--adapter", adapter, "with --evaluate: a LoRA adapter to merge into the model")
      ->needs(evaluating);
  app.add_option("--per-task", per_task, "with --evaluate: conversations of each task")
      ->check(integer_in(1, 1'000'000))
      ->needs(evaluating)
      ->capture_default_str();
  command_line.add_max_new_tokens(max_new_tokens);
  app.add_option("--answers", answers, "with --evaluate: write every answer here (JSONL)")
      ->needs(evaluating);
  bool stop_loops = false;
  app.add_flag("--stop-loops", stop_loops,
               "with --evaluate: stop an answer once the eight words before its last repeat "
               "earlier ones, and score it without them (still counted as a loop)")
      ->needs(evaluating);
  command_line.parse(argc, argv);

  return llama4::run_main([&] {
    options.model = model.empty() ? llama4::trained_model_dir() : std::filesystem::path(model);
    if (!evaluate_file.empty()) {
      llama4::EvaluateOptions e;
      e.model = options.model;
      if (!adapter.empty()) e.adapter = adapter;
      e.data = evaluate_file;
      e.per_task = per_task;
      e.max_new_tokens = max_new_tokens;
      e.answers = answers;
      e.stop_loops = stop_loops;
      return llama4::evaluate(e);
    }
    if (options.out.empty()) llama4::fail("--out DIR is required (where the result goes)");
    if (!resume.empty()) options.resume = resume;
    if (attention_chunk > 0) options.attention_chunk_size = attention_chunk;
    if (lora_rank > 0) {
      llama4::LoraSettings lora;
      lora.rank = lora_rank;
      lora.alpha = lora_alpha.value_or(2.0 * static_cast<double>(lora_rank));
      if (!lora_targets.empty()) lora.target_modules = lora_targets;
      options.lora = lora;
    }
    s.schedule.peak = learning_rate.value_or(lora_rank > 0 ? 2e-3 : 3e-4);
    s.schedule.minimum = s.schedule.peak / 10;
    s.schedule.total_steps = s.steps;
    return llama4::finetune(options);
  });
}
