// Chapter 09 benchmarks: the GPU's memory bandwidth, the matrix kernels at Scout's shapes (bf16,
// and chapter 12's Q8_0 and Q4_0), and the whole model's decode and prefill speed, each judged
// against the bandwidth measured in the same process.
//
//   build/bin/bench_gpu                                  everything, on synthetic 100m and 1b
//   build/bin/bench_gpu --models 100m,1b,scout-layer     also one full-size Scout layer (8.6 GB)
//   build/bin/bench_gpu --device 1 --decode 128 --prefill 512 --skip-kernels
//
// Decoding one token reads every active weight once (Model::bytes_read_per_token): memory
// bandwidth, not arithmetic, sets its speed, so each figure is given as GB/s of weights read and as
// a percentage of the bandwidth ceiling. The output is Markdown, ready for bench/RESULTS.md.
//
// Two traps make such figures lie, and both are avoided here. Zeros: every buffer holds random
// numbers (gpu::fill_random), never the zeros of fresh memory. The cache: an H200 has 50-60 MB of
// L2, more than a Scout router or k_proj weight (0.2 and 10 MB), so timing one buffer over and over
// would measure the cache and report "more than the memory bandwidth". Each timed kernel run
// therefore reads its own copy of the weight and input, taken in turn from enough copies to fill
// four times the L2: by the time a copy comes round again, the cache has long forgotten it.
//
// A plain program rather than a Google Benchmark one: GPU work is queued, so timing means
// "synchronise, start the clock, queue N runs, synchronise, stop", which is easiest to show
// written out; and it builds with nothing but the project (gpu/standalone_test.sh can build it).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "bench/median.hpp"
#include "common/model/model.hpp"
#include "common/model/synthetic_model.hpp"
#include "common/program/command_line.hpp"
#include "common/tensors/error.hpp"
#include "gpu/bandwidth.hpp"
#include "gpu/benchmark_support.hpp"
#include "gpu/device.hpp"
#include "gpu/gpu_model.hpp"
#include "gpu/matmul.hpp"
#include "gpu/quantized_matmul.hpp"

namespace llama4 {
namespace {

struct Options {
  int device = 0;
  std::vector<std::string> models = {"100m", "1b"};
  std::int64_t decode_tokens = 64;
  std::int64_t prefill_tokens = 128;
  bool kernels = true;
};

// The options, checked by the command line every program shares (common/program/).
Options parse(int argc, char** argv) {
  Options options;
  CommandLine command_line(
      "bench_gpu: the GPU's memory bandwidth, the matrix kernels at Scout's shapes, and the whole "
      "model's decode and prefill speed, as Markdown for bench/RESULTS.md.");
  CLI::App& app = command_line.app();
  app.add_option("--device", options.device, "GPU to run on (default 0)")
      ->option_text("N")
      ->check(integer_in(0, 1023));
  app.add_option(
         "--models", options.models,
         "synthetic models to time, comma-separated (default 100m,1b; known: " +
             [] {
               std::string names;
               for (const std::string& name : synthetic_model_names())
                 names.append(names.empty() ? "" : ", ").append(name);
               return names;
             }() +
             ")")
      ->option_text("A,B")
      ->delimiter(',')
      ->check(CLI::IsMember(synthetic_model_names()));
  app.add_option("--decode", options.decode_tokens, "tokens to decode per model (default 64)")
      ->option_text("N")
      ->check(integer_in(1, kLongestContext));
  app.add_option("--prefill", options.prefill_tokens, "prompt tokens to prefill (default 128)")
      ->option_text("N")
      ->check(integer_in(1, kLongestContext));
  app.add_flag_callback(
      "--skip-kernels", [&options] { options.kernels = false; },
      "time the models only, not the kernels");
  command_line.parse(argc, argv);
  return options;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string today() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d", std::gmtime(&now));
  return text;
}

// ---------------------------------------------------------------------------------------------

// The bandwidth ceiling: a 1 GiB read (far larger than any cache) and a 1 GiB device-to-device
// copy, of random numbers.
double measure_bandwidth() {
  constexpr std::int64_t kFloats = std::int64_t{1} << 28;  // 1 GiB
  gpu::DeviceBuffer<float> a(kFloats), b(kFloats), sink(1);
  gpu::fill_random(a.data(), kFloats, 1, 1.0f);
  const double read = gpu::read_bandwidth(a.data(), kFloats, sink.data(), 20);
  const double copy = gpu::copy_bandwidth(b.data(), a.data(), kFloats, 20);
  std::printf(
      "## Memory bandwidth\n\n| probe | GB/s |\n| --- | ---: |\n| read kernel, 1 GiB | %.0f |\n"
      "| device-to-device copy, 1 GiB (read + write) | %.0f |\n\n"
      "The ceiling below is the read kernel's figure: decoding reads weights, it writes almost "
      "nothing.\n\n",
      read / 1e9, copy / 1e9);
  return read;
}

// How many copies of `bytes_per_copy` fill at least four times the L2 cache (at least 1). A runtime
// that does not say how large its L2 is gets 256 MB assumed, more than any current GPU's.
std::int64_t copies_past_cache(std::size_t bytes_per_copy, std::size_t l2_bytes) {
  const std::size_t l2 = l2_bytes > 0 ? l2_bytes : std::size_t{256} << 20;
  const std::size_t target = 4 * l2;
  return static_cast<std::int64_t>(
      std::max<std::size_t>(1, (target + bytes_per_copy - 1) / bytes_per_copy));
}

// The time of one run of `run_once` (given the run's number): the median of five batches, each
// about 20 ms and never fewer runs than `copies`, so every batch cycles through all of them. A
// first guess at the time of one run sizes the batches.
template <class Run>
double seconds_per_run(const Run& run_once, std::int64_t copies) {
  const double guess = gpu::milliseconds_per_run(run_once, static_cast<int>(copies), 3);
  const int runs = static_cast<int>(std::clamp(
      std::max(20.0 / std::max(guess, 1e-4), static_cast<double>(copies)), 3.0, 20000.0));
  std::vector<double> batches;
  for (int batch = 0; batch < 5; ++batch)
    batches.push_back(gpu::milliseconds_per_run(run_once, 0, runs));
  return median(batches) / 1e3;
}

// linear (W [out, in]) and matmul (W [in, out]) at the shapes of one Scout layer and its LM head.
// Each run r reads copy r mod `copies` of the weight and the input (see the header); the time is
// the median of five batches of runs, each batch timed with GPU events after a warm-up pass.
void bench_kernels(double ceiling, std::size_t l2_bytes) {
  struct Shape {
    const char* what;
    bool input_major;  // matmul (routed experts) rather than linear
    std::int64_t in, out;
  };
  const std::vector<Shape> shapes = {
      {"q_proj / o_proj (linear)", false, 5120, 5120},
      {"k_proj / v_proj (linear)", false, 5120, 1024},
      {"shared expert gate / up (linear)", false, 5120, 8192},
      {"shared expert down (linear)", false, 8192, 5120},
      {"router (linear)", false, 5120, 16},
      {"expert gate_up (matmul)", true, 5120, 16384},
      {"expert down (matmul)", true, 8192, 5120},
      {"LM head (linear)", false, 5120, 202048},
  };
  std::printf(
      "## Matrix kernels at Scout's shapes\n\n"
      "bf16 weights, f32 activations, random numbers. GB/s counts the weight, input and output "
      "bytes once per run. Each run reads its own copy of the weight and input, out of `copies` "
      "that together fill at least 4x the L2 cache (%.0f MB), so the bytes come from memory; "
      "median of 5 batches timed with GPU events, after a warm-up pass over every copy.\n\n"
      "| kernel | in → out | rows | copies | µs | GB/s | of bandwidth | GFLOP/s |\n"
      "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n",
      static_cast<double>(l2_bytes) / 1e6);
  std::uint64_t seed = 100;
  for (const Shape& shape : shapes) {
    for (const std::int64_t rows : {std::int64_t{1}, std::int64_t{32}}) {
      const std::int64_t weight_count = shape.in * shape.out;  // [out, in] or [in, out]
      const std::int64_t x_count = rows * shape.in;            // [rows, in]
      const std::int64_t y_count = rows * shape.out;           // [rows, out]
      const std::size_t bytes_per_run = static_cast<std::size_t>(weight_count) * sizeof(bfloat16) +
                                        static_cast<std::size_t>(x_count + y_count) * sizeof(float);
      const std::int64_t copies = copies_past_cache(bytes_per_run, l2_bytes);
      // weights [copies, weight_count] bf16, inputs [copies, rows, in], outputs [copies, rows, out]
      gpu::DeviceBuffer<bfloat16> weights(static_cast<std::size_t>(copies * weight_count));
      gpu::DeviceBuffer<float> inputs(static_cast<std::size_t>(copies * x_count));
      gpu::DeviceBuffer<float> outputs(static_cast<std::size_t>(copies * y_count));
      gpu::fill_random(weights.data(), copies * weight_count, seed++,
                       1.0f / std::sqrt(static_cast<float>(shape.in)));
      gpu::fill_random(inputs.data(), copies * x_count, seed++, 1.0f);
      const auto run_once = [&](int run) {
        const std::int64_t copy = run % copies;
        const bfloat16* weight = weights.data() + copy * weight_count;
        const float* x = inputs.data() + copy * x_count;
        float* y = outputs.data() + copy * y_count;
        if (shape.input_major) {
          gpu::matmul(x, weight, y, rows, shape.in, shape.out);
        } else {
          gpu::linear(x, weight, y, rows, shape.in, shape.out);
        }
      };
      const double seconds = seconds_per_run(run_once, copies);
      const double flops = 2.0 * static_cast<double>(rows * shape.in * shape.out);
      std::printf("| %s | %lld → %lld | %lld | %lld | %.1f | %.0f | %.0f%% | %.0f |\n", shape.what,
                  static_cast<long long>(shape.in), static_cast<long long>(shape.out),
                  static_cast<long long>(rows), static_cast<long long>(copies), seconds * 1e6,
                  static_cast<double>(bytes_per_run) / seconds / 1e9,
                  100 * static_cast<double>(bytes_per_run) / seconds / ceiling,
                  flops / seconds / 1e9);
      std::fflush(stdout);
    }
  }
  std::printf("\n");
}

// quantized_linear (chapter 12's blocks) at the shapes of Scout's projections, beside bf16's
// figures above. The weights are random normal numbers quantized on the host (once; every copy
// holds the same bytes, at its own address). GB/s counts the packed weight bytes and the f32
// input and output, as above.
void bench_quantized_kernels(double ceiling, std::size_t l2_bytes) {
  struct Shape {
    const char* what;
    std::int64_t in, out;
  };
  const std::vector<Shape> shapes = {
      {"q_proj / o_proj", 5120, 5120},
      {"k_proj / v_proj", 5120, 1024},
      {"shared expert gate / up", 5120, 8192},
      {"shared expert down", 8192, 5120},
  };
  std::printf(
      "## Quantized matrix kernels (chapter 12) at Scout's shapes\n\n"
      "| format | kernel | in → out | rows | copies | µs | GB/s | of bandwidth |\n"
      "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |\n");
  std::mt19937 generator(7);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (const DType format : {DType::Q8_0, DType::Q4_0}) {
    for (const Shape& shape : shapes) {
      Tensor values = Tensor::zeros({shape.out, shape.in});
      float* data = values.mutable_data<float>();
      for (std::int64_t i = 0; i < values.numel(); ++i) data[i] = normal(generator);
      const Tensor packed = values.to(format);
      const std::size_t weight_bytes = packed.nbytes();
      for (const std::int64_t rows : {std::int64_t{1}, std::int64_t{32}}) {
        const std::int64_t x_count = rows * shape.in, y_count = rows * shape.out;
        const std::size_t bytes_per_run =
            weight_bytes + static_cast<std::size_t>(x_count + y_count) * sizeof(float);
        const std::int64_t copies = copies_past_cache(bytes_per_run, l2_bytes);
        gpu::DeviceBuffer<std::byte> weights(static_cast<std::size_t>(copies) * weight_bytes);
        for (std::int64_t copy = 0; copy < copies; ++copy) {
          gpu::copy_to_device(weights.data() + copy * weight_bytes, packed.raw_data(),
                              weight_bytes);
        }
        gpu::DeviceBuffer<float> inputs(static_cast<std::size_t>(copies * x_count));
        gpu::DeviceBuffer<float> outputs(static_cast<std::size_t>(copies * y_count));
        gpu::fill_random(inputs.data(), copies * x_count, 200 + rows, 1.0f);
        const auto run_once = [&](int run) {
          const std::int64_t copy = run % copies;
          gpu::quantized_linear(inputs.data() + copy * x_count,
                                weights.data() + copy * weight_bytes, format,
                                outputs.data() + copy * y_count, rows, shape.in, shape.out);
        };
        const double seconds = seconds_per_run(run_once, copies);
        const std::string format_name(dtype_name(format));
        std::printf("| %s | %s | %lld → %lld | %lld | %lld | %.1f | %.0f | %.0f%% |\n",
                    format_name.c_str(), shape.what, static_cast<long long>(shape.in),
                    static_cast<long long>(shape.out), static_cast<long long>(rows),
                    static_cast<long long>(copies), seconds * 1e6,
                    static_cast<double>(bytes_per_run) / seconds / 1e9,
                    100 * static_cast<double>(bytes_per_run) / seconds / ceiling);
        std::fflush(stdout);
      }
    }
  }
  std::printf("\n");
}

// Decode and prefill of GpuModel on a synthetic model.
void bench_model(const std::string& name, const Options& options, double ceiling) {
  const ModelConfig config = synthetic_config(name);
  const double build_start = now_seconds();
  std::fprintf(stderr, "building synthetic %s on the host...\n", name.c_str());
  const std::int64_t context = options.prefill_tokens + options.decode_tokens + 16;
  gpu::GpuModel model(Model(config, synthetic_checkpoint(config, 1)), context, options.device);
  const double load_seconds = now_seconds() - build_start;

  std::mt19937 generator(1);
  std::uniform_int_distribution<std::int32_t> any_token(
      0, static_cast<std::int32_t>(config.vocab_size - 1));
  std::vector<std::int32_t> prompt(static_cast<std::size_t>(options.prefill_tokens));
  for (std::int32_t& id : prompt) id = any_token(generator);

  // Prefill: the prompt in one forward pass (last-row logits, as generation does); best of three.
  double prefill_seconds = 1e30;
  for (int attempt = 0; attempt < 3; ++attempt) {
    model.reset();
    const double start = now_seconds();
    (void)model.forward_greedy(prompt);  // returns once the token id is back: the GPU is done
    prefill_seconds = std::min(prefill_seconds, now_seconds() - start);
  }
  // Decode: one token per pass, each the argmax of the last (found on the device).
  model.reset();
  std::int32_t token = model.forward_greedy(prompt);
  const double start = now_seconds();
  for (std::int64_t step = 0; step < options.decode_tokens; ++step)
    token = model.forward_greedy(std::span(&token, 1));
  const double decode_seconds = now_seconds() - start;

  const double decode_rate = static_cast<double>(options.decode_tokens) / decode_seconds;
  const double prefill_rate = static_cast<double>(options.prefill_tokens) / prefill_seconds;
  const double bytes = static_cast<double>(model.bytes_read_per_token());
  std::printf("| %s | %.2f | %.1f | %.1f | %.0f | %.1f%% | %lld | %.0f | %.1f |\n", name.c_str(),
              static_cast<double>(model.weight_bytes()) / 1e9, bytes / 1e6, decode_rate,
              decode_rate * bytes / 1e9, 100 * decode_rate * bytes / ceiling,
              static_cast<long long>(options.prefill_tokens), prefill_rate, load_seconds);
  std::fflush(stdout);
}

int run(const Options& options) {
  const gpu::DeviceInfo device = gpu::probe(options.device);
  if (!device.available) {
    std::fprintf(stderr, "bench_gpu: %s\n", gpu::describe(device).c_str());
    return 1;
  }
  gpu::select_device(options.device);
  std::printf("# GPU benchmarks (chapter 09)\n\n**GPU:** %s. **Date:** %s.\n\n",
              gpu::describe(device).c_str(), today().c_str());
  const double ceiling = measure_bandwidth();
  if (options.kernels) {
    bench_kernels(ceiling, device.l2_cache);
    bench_quantized_kernels(ceiling, device.l2_cache);
  }
  if (!options.models.empty()) {
    std::printf(
        "## GpuModel on synthetic models\n\nDecode: %lld tokens one at a time after the prompt, "
        "greedy "
        "(argmax on the device). Prefill: the prompt in one pass, best of three.\n\n"
        "| model | weights GB | MB read / token | decode tok/s | GB/s | of bandwidth | prompt | "
        "prefill tok/s | load s |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
        static_cast<long long>(options.decode_tokens));
    for (const std::string& name : options.models) bench_model(name, options, ceiling);
  }
  return 0;
}

}  // namespace
}  // namespace llama4

int main(int argc, char** argv) {
  try {
    return llama4::run(llama4::parse(argc, argv));
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_gpu: %s\n", error.what());
    return 1;
  }
}
