// Chapter 14: one Llama 4 split over several processes, with MPI.
//
//   mpirun -np 2 build/bin/chapter14_parallel --tp 2 --prompt "And God said" -n 32
//   mpirun -np 4 --oversubscribe build/bin/chapter14_parallel --tp 2 --ep 4 --tokens 4096,12,900
//       --dump-logits logits.bin                                          (one command)
//   mpirun -np 2 build/bin/chapter14_parallel --tp 2 --chat       (rank 0 reads the user's lines)
//   srun --ntasks=4 build/bin/chapter14_parallel --ep 4 --model ~/Llama-4-Scout ...   (Slurm)
//
// Every rank runs this same program: it loads only its share of the weights (parallel_plan.hpp),
// runs every forward pass together with the others (parallel_model.hpp), and gets the same logits.
// Rank 0 prints and writes; the others stay silent. Without mpirun it is one rank: the whole model.
#include <cstdio>
#include <iostream>
#include <optional>

#include "chapters/08_model/modes.hpp"
#include "chapters/08_model/program.hpp"
#include "chapters/14_parallel/broadcast_input.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/model/generation.hpp"
#include "common/model/sampler.hpp"
#include "common/parallel/mpi_communicator.hpp"
#include "common/parallel/parallel_session.hpp"
#include "common/program/command_line.hpp"
#include "common/program/run_main.hpp"
#include "common/program/thread_count.hpp"
#include "common/quantization/quantized_checkpoint.hpp"
#include "common/tensors/atomic_file.hpp"
#include "common/tensors/error.hpp"

using namespace llama4;

namespace {

struct Options {
  std::string model;
  int tp = 1, ep = 1;
  bool chat = false;
  std::optional<std::string> system;
  std::string perplexity_file;
  std::optional<std::string> prompt, tokens;
  std::int64_t max_new_tokens = 32;
  std::optional<std::int64_t> context_length;
  std::string dump_logits;
  std::optional<int> threads;
  bool no_bos = false;
  SamplingOptions sampling;
};

// Rank 0 writes the logits of every position, float32 [n, V] (chapter 08's --dump-logits file).
void write_logits(const Tensor& logits, const std::string& path) {
  AtomicFile out(path);
  out.write(logits.data<float>(), logits.nbytes());
  out.commit();
}

int run(Communicator& world, const Options& options) {
  const std::filesystem::path directory =
      options.model.empty() ? trained_model_dir() : std::filesystem::path(options.model);
  const bool main_rank = world.rank() == 0;

  // 1. The plan, from config.json alone: a split the shapes cannot take stops every rank here,
  //    before any weight is loaded.
  ModelConfig config;
  ParallelPlan plan;
  on_every_rank(world, [&] {
    config = load_model_config(directory);
    plan = make_parallel_plan(config, world.size(), world.rank(), options.tp, options.ep);
  });
  ParallelGroups groups = split_groups(world, plan);

  // 2. My share of the weights, the tokenizer, the prompt. Whatever fails on one rank stops all.
  std::optional<ParallelSession> session;
  std::vector<std::int32_t> prompt;
  std::optional<Tokenizer> tokenizer;
  const std::string text = options.prompt.value_or("And it came to pass");
  on_every_rank(world, [&] {
    const Checkpoint checkpoint = open_checkpoint(directory);
    const std::int64_t context = options.context_length.value_or(
        std::min<std::int64_t>(config.max_position_embeddings, 4096));
    session.emplace(ParallelModel(config, checkpoint, plan, std::move(groups)), context);
    // The tokenizer as chapter 08 finds it (the model directory's, else the shared one); needed
    // only for text.
    ProgramOptions lookup;
    lookup.model_directory = directory.string();
    const bool needs_text = !options.tokens;
    tokenizer = load_tokenizer(lookup, needs_text);
    if (tokenizer && needs_text) check_tokenizer_fits(*tokenizer, config);
    if (options.tokens) {
      prompt = parse_token_list(*options.tokens);
    } else {
      prompt = tokenizer->encode(text, {.bos = !options.no_bos});
    }
  });
  if (main_rank) {
    std::fprintf(stderr, "rank 0 of %d: tp %d, ep %d; this rank holds %.1f MB of weights\n",
                 plan.ranks, plan.tensor_parallel, plan.expert_parallel,
                 static_cast<double>(session->model().held_bytes()) / 1e6);
  }

  // 3. The modes of chapter 08 that need nothing but a session, run on every rank alike.
  if (options.chat || !options.perplexity_file.empty()) {
    if (!options.perplexity_file.empty())
      return measure_perplexity(*session, *tokenizer, options.perplexity_file);
    ProgramOptions chat_options;
    chat_options.prompt = options.prompt;
    chat_options.system = options.system;
    chat_options.max_new_tokens = options.max_new_tokens;
    chat_options.sampling = options.sampling;
    BroadcastInput every_rank_reads_rank_0s_input(world);  // the user's lines, to every rank
    return chat(*session, *tokenizer, chat_options);
  }

  // 4. --dump-logits: one forward pass over the ids; every rank runs it, rank 0 writes.
  if (!options.dump_logits.empty()) {
    const std::uint64_t before = session->model().bytes_all_reduced();
    const Tensor logits = session->forward(prompt, LogitRows::all, nullptr);  // [n, V]
    check_logits_are_finite(logits, 0);
    if (main_rank) {
      write_logits(logits, options.dump_logits);
      std::fprintf(stderr,
                   "%zu tokens in one pass: all-reduced %.0f bytes per token (formula: %llu)\n",
                   prompt.size(),
                   static_cast<double>(session->model().bytes_all_reduced() - before) /
                       static_cast<double>(prompt.size()),
                   static_cast<unsigned long long>(all_reduce_bytes_per_token(plan, config)));
    }
    return 0;
  }

  // 5. Generation: the same logits and the same seed on every rank give the same tokens.
  Sampler sampler(options.sampling);
  const std::uint64_t reduced_before = session->model().bytes_all_reduced();
  if (main_rank && !options.tokens) std::cout << text << std::flush;
  const GenerationResult result = generate(
      *session, sampler, prompt, options.max_new_tokens,
      tokenizer ? tokenizer->stop_ids() : std::vector<std::int32_t>{}, [&](std::int32_t token) {
        if (main_rank)
          std::cout << (tokenizer ? tokenizer->token_bytes(token) : " " + std::to_string(token))
                    << std::flush;
        return true;
      });
  if (main_rank) {
    const std::uint64_t reduced = session->model().bytes_all_reduced() - reduced_before;
    const std::int64_t fed = result.stats.prompt_tokens + result.stats.generated_tokens - 1;
    std::cout << "\n";
    std::fprintf(stderr,
                 "[%s] %lld tokens: prefill %.1f tok/s, decode %.1f tok/s | all-reduced %.0f "
                 "bytes per token (formula: %llu)\n",
                 session->device().c_str(), static_cast<long long>(result.tokens.size()),
                 result.stats.prefill_tokens_per_second(), result.stats.decode_tokens_per_second(),
                 fed > 0 ? static_cast<double>(reduced) / static_cast<double>(fed) : 0.0,
                 static_cast<unsigned long long>(all_reduce_bytes_per_token(plan, config)));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  MpiRuntime mpi(argc, argv);
  const std::unique_ptr<MpiCommunicator> world = MpiCommunicator::world();
  // Only rank 0 speaks: the others' output would repeat it N times. Their errors reach rank 0
  // through on_every_rank.
  if (world->rank() != 0) {
    if (!std::freopen("/dev/null", "w", stdout) || !std::freopen("/dev/null", "w", stderr))
      return 1;
  }
  Options options;
  CommandLine command_line(
      "Chapter 14: the Llama 4 model split over MPI processes: tensor parallel attention and "
      "MLPs (--tp), expert parallel routed experts (--ep). Run with mpirun -np N or srun.");
  CLI::App& app = command_line.app();
  command_line.add_model(options.model,
                         "a checkpoint directory (default: chapter 11's trained "
                         "model, golden/llama4-bible)");
  app.add_option("--tp", options.tp,
                 "tensor parallel ranks: attention heads and MLP widths "
                 "divided over them (default 1)")
      ->check(integer_in(1, 4096));
  app.add_option("--ep", options.ep,
                 "expert parallel ranks: the routed experts divided over "
                 "them (default 1)")
      ->check(integer_in(1, 4096));
  auto* chat = app.add_flag("--chat", options.chat,
                            "a conversation in the Llama 4 chat format, one user line at a time "
                            "(rank 0's standard input, given to every rank)");
  app.add_option("--system", options.system, "with --chat: the system message")->needs(chat);
  auto* perplexity =
      app.add_option("--perplexity", options.perplexity_file, "perplexity of a text file")
          ->option_text("FILE")
          ->excludes(chat);
  auto* prompt = app.add_option("--prompt", options.prompt, "the text to continue");
  auto* tokens =
      app.add_option("--tokens", options.tokens, "token ids instead of text: 1,2,3 or @FILE")
          ->excludes(prompt);
  app.add_option("--dump-logits", options.dump_logits,
                 "with --tokens: rank 0 writes float32 logits [n_tokens, vocab]")
      ->option_text("OUT.bin")
      ->needs(tokens)
      ->excludes(chat)
      ->excludes(perplexity);
  tokens->excludes(chat)->excludes(perplexity);
  app.add_flag("--no-bos", options.no_bos, "do not start the prompt with <|begin_of_text|>");
  command_line.add_max_new_tokens(options.max_new_tokens);
  command_line.add_context_length(options.context_length, "default: the model's, at most 4096");
  command_line.add_threads(options.threads);
  command_line.add_sampling(options.sampling);
  command_line.parse(argc, argv);
  if (options.threads) set_thread_count(*options.threads);
  return run_main([&] { return run(*world, options); });
}
