// Decode speed of several checkpoints of one model, measured token by token in turn in one process.
//
//   build/bin/bench_decode_alternated [--tokens N] [--threads N] MODEL...
//   build/bin/bench_decode_alternated --tokens 300 --threads 2 bf16.gguf q8_0.gguf q4_0.gguf
//
// On a shared machine the memory bandwidth a program gets drifts by tens of percent over minutes.
// Running each format's whole decode one after the other (even in alternated rounds) lets that
// drift fall on one format more than another, and the ratio between formats is what a quantized
// format promises. Here every model gets the same 128-token prompt, then each decodes one token
// in turn: model 1, model 2, ..., model 1, ... . A slow spell lands on all of them alike: in five
// runs whose bf16 speed moved by 19 %, the Q8_0 / bf16 ratio stayed within 1.81-1.90
// (bench/RESULTS.md, chapter 12).
//
// The tokens fed are fixed, not sampled, so every model does the same work at the same positions.
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/median.hpp"
#include "common/model/inference_session.hpp"
#include "common/model/model.hpp"
#include "common/program/command_line.hpp"
#include "common/program/run_main.hpp"
#include "common/program/thread_count.hpp"

using namespace llama4;

namespace {

constexpr std::int64_t kPromptTokens = 128;

}  // namespace

int main(int argc, char** argv) {
  return run_main([&] {
    std::int64_t tokens = 300;
    std::optional<int> threads;
    std::vector<std::string> paths;
    CommandLine command_line(
        "Decode several checkpoints of one model token by token in turn; per-token medians.");
    command_line.app()
        .add_option("--tokens", tokens, "tokens each model decodes after the prompt")
        ->check(integer_in(1, 100000));
    command_line.add_threads(threads);
    command_line.app()
        .add_option("models", paths, "checkpoint directories or GGUF files, the first the base")
        ->required();
    command_line.parse(argc, argv);
    if (threads) set_thread_count(*threads);

    std::vector<std::unique_ptr<CpuSession>> sessions;
    for (const std::string& path : paths)
      sessions.push_back(std::make_unique<CpuSession>(Model::load(path), kPromptTokens + tokens));

    // The same prompt for all: token ids spread over the vocabulary (any model's holds 32000).
    std::vector<std::int32_t> prompt;
    for (std::int64_t i = 0; i < kPromptTokens; ++i)
      prompt.push_back(static_cast<std::int32_t>((1 + 7 * i) % 32000));
    for (auto& session : sessions) session->forward(prompt, LogitRows::last, nullptr);

    std::vector<std::vector<double>> seconds(sessions.size());  // [model][token]
    for (std::int64_t t = 0; t < tokens; ++t) {
      const auto token = static_cast<std::int32_t>((t * 131 + 7) % 32000);
      for (std::size_t m = 0; m < sessions.size(); ++m) {
        const auto start = std::chrono::steady_clock::now();
        sessions[m]->forward(std::span<const std::int32_t>(&token, 1), LogitRows::last, nullptr);
        seconds[m].push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    }

    std::printf("%lld tokens after a %lld-token prompt; per-token medians\n",
                static_cast<long long>(tokens), static_cast<long long>(kPromptTokens));
    std::printf("%-40s %10s %8s %12s %12s\n", "model", "ms/token", "tok/s", "GB/s weights",
                "x first");
    const double first = median(seconds[0]);
    for (std::size_t m = 0; m < sessions.size(); ++m) {
      const double per_token = median(seconds[m]);
      const double bytes = static_cast<double>(sessions[m]->bytes_read_per_token());
      std::printf("%-40s %10.2f %8.1f %12.1f %12.2f\n", paths[m].c_str(), per_token * 1e3,
                  1 / per_token, bytes / per_token / 1e9, first / per_token);
    }
    return 0;
  });
}
