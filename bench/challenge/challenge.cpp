// The optimisation challenge: one workload, one engine, one report.
//
//   build/bin/challenge --workload bench/challenge/workloads/small.json --engine cpu-q4_0
//                       [--out DIR] [--model PATH] [--batch 1,8] [--thresholds FILE]
//
// 1. Reads the workload (prompts, tokens to generate, batch sizes, accuracy bounds).
// 2. Loads the engine and runs the workload once per batch size, timing every token
//    (after one untimed warm-up request).
// 3. Records the peak memory and measures the memory's read bandwidth (the decode ceiling).
// 4. Loads the reference (cpu-f32), generates the same prompts one at a time, and judges the
//    engine's tokens and logits against it (accuracy_gate.hpp).
// 5. Checks the committed thresholds, prints the Markdown report, and with --out writes
//    DIR/result.json, DIR/result.md and DIR/result.svg.
// Exit status: 0 passed; 1 the gate or a threshold failed, or an error; 2 a bad command line.
#include <sys/resource.h>

#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "bench/challenge/accuracy_gate.hpp"
#include "bench/challenge/engine.hpp"
#include "bench/challenge/plot.hpp"
#include "bench/challenge/result.hpp"
#include "bench/challenge/thresholds.hpp"
#include "bench/challenge/workload.hpp"
#include "chapters/08_model/modes.hpp"
#include "chapters/08_model/program.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/program/command_line.hpp"
#include "common/program/run_main.hpp"
#include "common/program/thread_count.hpp"
#include "common/tensors/atomic_file.hpp"
#include "common/tensors/error.hpp"

using namespace llama4;
using namespace llama4::challenge;

namespace {

struct Options {
  std::string workload;
  std::string engine = "cpu-bf16";
  std::string reference = "cpu-f32";
  std::string model;
  std::vector<std::int64_t> batches;
  std::string thresholds = LLAMA4_SOURCE_DIR "/bench/challenge/thresholds.json";
  bool no_thresholds = false;
  bool no_bandwidth = false;
  std::string out;
  std::optional<int> threads;
  int device = 0;
};

std::uint64_t peak_resident_bytes() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

std::vector<GenerationRequest> requests_of(const Workload& workload) {
  std::vector<GenerationRequest> requests;
  for (const WorkloadPrompt& prompt : workload.prompts)
    requests.push_back({prompt.ids, prompt.max_new_tokens});
  return requests;
}

int run(const Options& options) {
  Workload workload = read_workload(options.workload);
  const std::filesystem::path model =
      options.model.empty() ? workload_model_path(workload) : std::filesystem::path(options.model);
  std::vector<std::int64_t> batches =
      options.batches.empty() ? workload.batch_sizes : options.batches;
  const std::vector<Threshold> thresholds =
      options.no_thresholds ? std::vector<Threshold>{} : read_thresholds(options.thresholds);
  if (options.threads) set_thread_count(*options.threads);

  std::cerr << "workload " << workload.name << ": " << workload.prompts.size()
            << " prompts; loading " << model.string() << " for " << options.engine << "\n";
  std::unique_ptr<Engine> engine =
      make_engine(options.engine, model, workload.context_length, options.device);
  // The model's tokenizer as chapter 08 finds it (a GGUF file's own, the directory's, else the
  // shared one); prompts given as ids alone need none.
  ProgramOptions lookup;
  lookup.model_directory = model.string();
  const std::optional<Tokenizer> tokenizer = load_tokenizer(lookup, /*required=*/false);
  resolve_prompts(workload, tokenizer ? &*tokenizer : nullptr, engine->config().vocab_size);
  const std::vector<GenerationRequest> requests = requests_of(workload);
  std::erase_if(batches, [&](std::int64_t b) {
    if (b <= engine->max_batch()) return false;
    std::cerr << "engine " << engine->name() << " decodes at most " << engine->max_batch()
              << " sequence(s) per step: batch " << b << " skipped\n";
    return true;
  });
  if (batches.empty()) fail("no batch size of the workload suits engine ", engine->name());

  ChallengeResult result;
  result.workload = workload.name;
  result.workload_file = workload.file.string();
  result.engine = engine->name();
  result.reference = options.reference;
  result.model = model.string();
  result.machine = fingerprint_this_machine(LLAMA4_SOURCE_DIR);
  result.machine.device = engine->device();
  result.weight_bytes = engine->weight_bytes();
  result.bytes_read_per_token = engine->bytes_read_per_token();

  // A warm-up request (untimed): the first pass pages in weights and sizes buffers.
  std::vector<RequestTimes> times;
  engine->generate(std::span(requests).first(1), 1, {}, times);
  std::vector<Outputs> outputs;
  std::vector<std::int64_t> prompt_lengths;
  for (const GenerationRequest& request : requests)
    prompt_lengths.push_back(std::ssize(request.prompt));
  for (const std::int64_t batch : batches) {
    std::cerr << "batch " << batch << "...\n";
    outputs.push_back(engine->generate(requests, batch, {}, times));
    result.runs.push_back(measure_run(batch, times, prompt_lengths));
  }
  result.peak_memory_bytes = peak_resident_bytes();  // before the reference is loaded
  if (!options.no_bandwidth) result.read_bandwidth = engine->measure_read_bandwidth();

  std::cerr << "reference " << options.reference << "...\n";
  std::unique_ptr<Engine> reference =
      make_engine(options.reference, model, workload.context_length);
  const Outputs reference_outputs = reference->generate(requests, 1, {}, times);
  result.accuracy = judge_accuracy(*reference, *engine, workload, reference_outputs, outputs);
  result.thresholds = check_thresholds(thresholds, workload.name, engine->name(), result.runs,
                                       result.peak_memory_bytes);

  const std::string markdown = to_markdown(result);
  std::cout << markdown;
  if (!options.out.empty()) {
    std::filesystem::create_directories(options.out);
    const std::filesystem::path out(options.out);
    write_file_atomically(out / "result.json", to_json(result).dump(2) + "\n");
    write_file_atomically(out / "result.md", markdown);
    write_file_atomically(out / "result.svg", plot_svg(result));
    std::cerr << "wrote " << (out / "result.json").string() << ", result.md, result.svg\n";
  }
  return result.passed() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CommandLine command_line(
      "The optimisation challenge: runs a workload on an engine, times every token, judges the "
      "engine's accuracy against the f32 CPU reference, and reports (bench/challenge/README.md). "
      "Exit status 0 if the engine passes the accuracy gate and every threshold.");
  CLI::App& app = command_line.app();
  app.add_option("--workload", options.workload, "the workload file (bench/challenge/workloads/)")
      ->option_text("FILE")
      ->required();
  std::string engines;
  for (const std::string& name : engine_names()) engines += (engines.empty() ? "" : ", ") + name;
  app.add_option("--engine", options.engine,
                 "the engine judged: " + engines + " (default cpu-bf16)")
      ->option_text("NAME");
  app.add_option("--reference", options.reference,
                 "the engine the accuracy gate compares with (default cpu-f32)")
      ->option_text("NAME");
  command_line.add_model(options.model,
                         "a checkpoint directory or GGUF file instead of the "
                         "workload's model");
  app.add_option("--batch", options.batches, "batch sizes instead of the workload's: 1,4,8")
      ->option_text("LIST")
      ->delimiter(',')
      ->check(integer_in(1, 4096));
  auto* thresholds = app.add_option("--thresholds", options.thresholds,
                                    "the thresholds file (default bench/challenge/thresholds.json)")
                         ->option_text("FILE");
  app.add_flag("--no-thresholds", options.no_thresholds, "judge by the accuracy gate alone")
      ->excludes(thresholds);
  app.add_flag("--no-bandwidth", options.no_bandwidth,
               "do not measure the memory's bandwidth (a second; no bandwidth fraction then)");
  app.add_option("--out", options.out, "write result.json, result.md and result.svg here")
      ->option_text("DIR");
  command_line.add_threads(options.threads);
  app.add_option("--device", options.device, "the GPU of a GPU engine (default 0)")
      ->option_text("N")
      ->check(integer_in(0, 1023));
  command_line.parse(argc, argv);
  return run_main([&] { return run(options); });
}
