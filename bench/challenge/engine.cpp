#include "bench/challenge/engine.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>

#include "bench/ceilings.hpp"
#include "common/model/sampler.hpp"
#include "common/quantization/quantize_weights.hpp"
#include "common/quantization/quantized_checkpoint.hpp"
#include "common/tensors/error.hpp"
#include "gpu/bandwidth.hpp"
#include "gpu/benchmark_support.hpp"
#include "gpu/device.hpp"
#include "gpu/gpu_session.hpp"

namespace llama4::challenge {

// ---------------------------------------------------------------------------------------------
// CPU

CpuEngine::CpuEngine(std::string name, Model model, std::int64_t context_length)
    : name_(std::move(name)), model_(std::move(model)), context_length_(context_length) {
  check_context_length(model_.config(), context_length_);
}

std::string CpuEngine::device() const {
  return "CPU (" + std::to_string(omp_get_max_threads()) + " threads)";
}

std::vector<std::vector<std::int32_t>> CpuEngine::generate(
    std::span<const GenerationRequest> requests, std::int64_t batch,
    std::span<const std::int32_t> stop_ids, std::vector<RequestTimes>& times) {
  return generate_batched(model_, requests, batch, context_length_, stop_ids, &times);
}

double CpuEngine::measure_read_bandwidth() const {
  return bench::measure_read_bandwidth_again_bytes_per_second();
}

Tensor CpuEngine::logits(std::span<const std::int32_t> tokens) {
  KVCache cache = model_.make_cache(context_length_);
  return model_.forward(tokens, cache, LogitRows::all);
}

// ---------------------------------------------------------------------------------------------
// Any session, one sequence at a time

SessionEngine::SessionEngine(std::string name, std::unique_ptr<InferenceSession> session,
                             std::uint64_t weight_bytes)
    : name_(std::move(name)), session_(std::move(session)), weight_bytes_(weight_bytes) {}

std::vector<std::vector<std::int32_t>> SessionEngine::generate(
    std::span<const GenerationRequest> requests, std::int64_t batch,
    std::span<const std::int32_t> stop_ids, std::vector<RequestTimes>& times) {
  if (batch != 1) fail("engine ", name_, " decodes one sequence at a time, not batches of ", batch);
  check_generation_requests(requests, session_->context_length());
  const auto start = std::chrono::steady_clock::now();
  const auto now = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::vector<std::vector<std::int32_t>> outputs(requests.size());
  times.assign(requests.size(), RequestTimes{});
  for (std::size_t r = 0; r < requests.size(); ++r) {
    session_->reset();
    times[r].prefill_start = now();
    Tensor logits = session_->forward(requests[r].prompt, LogitRows::last);  // [1, V]
    while (true) {
      const std::int32_t next =
          argmax({logits.data<float>(), static_cast<std::size_t>(logits.dim(1))});
      outputs[r].push_back(next);
      times[r].token_times.push_back(now());
      const bool stop = std::find(stop_ids.begin(), stop_ids.end(), next) != stop_ids.end();
      if (stop || std::ssize(outputs[r]) >= requests[r].max_new_tokens) break;
      logits = session_->forward({&next, 1}, LogitRows::last);
    }
  }
  session_->reset();
  return outputs;
}

Tensor SessionEngine::logits(std::span<const std::int32_t> tokens) {
  session_->reset();
  Tensor logits = session_->forward(tokens, LogitRows::all);
  session_->reset();
  return logits;
}

// ---------------------------------------------------------------------------------------------
// The GPU model of chapter 09

namespace {

class GpuEngine : public SessionEngine {
 public:
  GpuEngine(const std::string& name, const Model& model, std::int64_t context_length, int device)
      : SessionEngine(name, std::make_unique<gpu::GpuSession>(model, context_length, device),
                      model.checkpoint().total_bytes()) {}

  // A kernel reading 1 GiB of device memory (bench_gpu's ceiling).
  double measure_read_bandwidth() const override {
    constexpr std::int64_t kFloats = std::int64_t{1} << 28;
    gpu::DeviceBuffer<float> data(kFloats), sink(1);
    gpu::fill_random(data.data(), kFloats, 1, 1.0f);
    return gpu::read_bandwidth(data.data(), kFloats, sink.data(), 20);
  }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// By name

namespace {

struct EngineKind {
  const char* name;
  enum { cpu_float, cpu_quantized, gpu_chapter09 } kind;
  DType dtype;
};

constexpr EngineKind kEngines[] = {
    {"cpu-f32", EngineKind::cpu_float, DType::F32},
    {"cpu-bf16", EngineKind::cpu_float, DType::BF16},
    {"cpu-q8_0", EngineKind::cpu_quantized, DType::Q8_0},
    {"cpu-q4_0", EngineKind::cpu_quantized, DType::Q4_0},
    {"cpu-q4_1", EngineKind::cpu_quantized, DType::Q4_1},
    {"gpu-chapter09", EngineKind::gpu_chapter09, DType::BF16},
};

}  // namespace

std::vector<std::string> engine_names() {
  std::vector<std::string> names;
  for (const EngineKind& engine : kEngines) names.emplace_back(engine.name);
  return names;
}

Model with_float_weights(const Model& model, DType dtype) {
  const Checkpoint& checkpoint = model.checkpoint();
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : checkpoint.names()) {
    Tensor tensor = checkpoint.tensor(name);
    if (is_floating_point(tensor.dtype()) && tensor.dtype() != dtype) tensor = tensor.to(dtype);
    tensors.emplace_back(name, std::move(tensor));
  }
  return Model(model.config(), Checkpoint::from_tensors(checkpoint.location().string() + " (" +
                                                            std::string(dtype_name(dtype)) + ")",
                                                        std::move(tensors)));
}

std::unique_ptr<Engine> make_engine(const std::string& name,
                                    const std::filesystem::path& model_path,
                                    std::int64_t context_length, int device) {
  const EngineKind* kind = nullptr;
  for (const EngineKind& engine : kEngines) {
    if (name == engine.name) kind = &engine;
  }
  if (!kind) {
    std::string known;
    for (const std::string& engine : engine_names()) known += (known.empty() ? "" : ", ") + engine;
    fail("unknown engine \"", name, "\": the engines are ", known);
  }
  if (kind->kind == EngineKind::gpu_chapter09) {
    // Before the model is loaded: is there a GPU at all?
    const gpu::DeviceInfo info = gpu::probe(device);
    if (!info.available) fail("engine ", name, ": ", gpu::describe(info));
  }
  Model model = Model::load(model_path);
  check_context_length(model.config(), context_length);
  switch (kind->kind) {
    case EngineKind::cpu_float:
      return std::make_unique<CpuEngine>(name, with_float_weights(model, kind->dtype),
                                         context_length);
    case EngineKind::cpu_quantized:
      return std::make_unique<CpuEngine>(
          name,
          Model(model.config(),
                quantize_checkpoint(model.checkpoint(), QuantizationPlan{kind->dtype})),
          context_length);
    case EngineKind::gpu_chapter09:
      break;
  }
  return std::make_unique<GpuEngine>(name, model, context_length, device);
}

}  // namespace llama4::challenge
