// GpuModel: Model::forward (common/model/model.cpp) with every stage on the device.
#include "gpu/gpu_model.hpp"

#include "common/layers/rope.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/error.hpp"
#include "gpu/embedding.hpp"
#include "gpu/matmul.hpp"
#include "gpu/rms_norm.hpp"
#include "gpu/sampler.hpp"

namespace llama4::gpu {
namespace {

// Probes GPU `index` and makes it the current device, or fails with the reason there is none:
// "no usable GPU: built with GPU_BACKEND=off (...)", "no usable GPU: nvidia: hipGetDeviceCount ->
// ...".
DeviceInfo open_device(int index) {
  DeviceInfo device = probe(index);
  if (!device.available) fail(describe(device));
  select_device(index);
  return device;
}

}  // namespace

GpuModel::GpuModel(const Model& model, std::int64_t context_length, int device)
    : device_(open_device(device)),
      config_(model.config()),
      context_length_(context_length),
      bytes_read_per_token_(model.bytes_read_per_token()) {
  // The same bounds as the CPU cache (positive, at most max_position_embeddings, a byte count
  // that does not overflow), checked before anything is uploaded.
  check_context_length(config_, context_length);
  const Checkpoint& checkpoint = model.checkpoint();
  const WeightNames names(checkpoint);
  const std::int64_t vocab = config_.vocab_size, hidden = config_.hidden_size;

  const std::vector<float> frequencies =
      rope_inverse_frequencies(config_.head_dim, config_.rope_theta, config_.rope_scaling);
  inverse_frequencies_ = DeviceBuffer<float>(frequencies);
  // The embedding is a table the GPU reads in bf16. A GGUF file may hold it in a block format
  // (llama.cpp's quantizer packs it too): it is widened to bf16 once, here.
  const Tensor embedding = load_weight(checkpoint, names.embedding(), {vocab, hidden});
  embedding_ =
      upload_weight(is_block_quantized(embedding.dtype()) ? embedding.to(DType::BF16) : embedding,
                    "the embedding");
  layers_.reserve(static_cast<std::size_t>(config_.num_hidden_layers));
  for (std::int64_t layer = 0; layer < config_.num_hidden_layers; ++layer) {
    // The CPU layer holds views into the checkpoint (nothing is copied), and checks every shape.
    const DecoderLayer cpu_layer(config_, layer, checkpoint, names, frequencies);
    layers_.emplace_back(config_, layer, cpu_layer, inverse_frequencies_.data());
    caches_.push_back(layers_.back().make_cache(context_length));
  }
  final_norm_ =
      upload_weight(load_weight(checkpoint, names.final_norm(), {hidden}), "the final norm");
  // Llama 4 does not tie the LM head to the embedding, but a config may say it does.
  if (!(config_.tie_word_embeddings && !checkpoint.contains(names.lm_head()))) {
    lm_head_ =
        upload_matrix(load_weight(checkpoint, names.lm_head(), {vocab, hidden}), "the LM head");
  }
  synchronize();  // report a failed upload here, not at the first forward pass
}

std::size_t GpuModel::weight_bytes() const {
  std::size_t bytes = embedding_.bytes() + final_norm_.bytes() + (lm_head_ ? lm_head_->bytes() : 0);
  for (const GpuDecoderLayer& layer : layers_) bytes += layer.weight_bytes();
  return bytes;
}

std::size_t GpuModel::cache_bytes() const {
  std::size_t bytes = 0;
  for (const DeviceKVCache& cache : caches_) bytes += cache.bytes();
  return bytes;
}

void GpuModel::reset() {
  for (DeviceKVCache& cache : caches_) cache.clear();
}

std::int64_t GpuModel::run(std::span<const std::int32_t> tokens, LogitRows rows,
                           ActivationRecorder* recorder) {
  const auto count = static_cast<std::int64_t>(tokens.size());
  if (count == 0) fail("forward: no tokens to process");
  const std::int64_t start = position();
  if (start + count > context_length_) {
    fail("the sequence would reach ", start + count, " tokens, past the context length ",
         context_length_, " (positions ", start, "..", start + count - 1,
         "); raise --ctx or shorten the prompt");
  }
  check_token_ids(tokens, config_.vocab_size);  // before anything is queued
  const std::int64_t hidden = config_.hidden_size, vocab = config_.vocab_size;
  const std::int64_t logit_rows = rows == LogitRows::all ? count : 1;
  workspace_.reserve(config_, count);
  workspace_.reserve_logits(config_, logit_rows);

  embed_tokens(tokens, workspace_.ids.data(), embedding_.data(), workspace_.x.data(), vocab,
               hidden);  // [T, H]
  record(recorder, "embedding", workspace_.x.data(), {count, hidden});
  for (std::size_t layer = 0; layer < layers_.size(); ++layer) {
    layers_[layer].forward(count, caches_[layer], workspace_, recorder);
  }
  // Only the rows we need go through the final norm and the (large) LM head.
  const float* last_rows = workspace_.x.data() + (count - logit_rows) * hidden;
  rms_norm(last_rows, final_norm_.data(), workspace_.normed.data(), logit_rows, hidden,
           static_cast<float>(config_.rms_norm_eps));
  record(recorder, "final_norm", workspace_.normed.data(), {logit_rows, hidden});
  project(workspace_.normed.data(), lm_head_ ? *lm_head_ : embedding_, workspace_.logits.data(),
          logit_rows, hidden, vocab);  // [rows, V]
  record(recorder, "logits", workspace_.logits.data(), {logit_rows, vocab});
  return logit_rows;
}

Tensor GpuModel::forward(std::span<const std::int32_t> tokens, LogitRows rows,
                         ActivationRecorder* recorder) {
  const std::int64_t logit_rows = run(tokens, rows, recorder);
  Tensor logits = Tensor::zeros({logit_rows, config_.vocab_size});
  copy_to_host(logits.mutable_data<float>(), workspace_.logits.data(),
               logits.nbytes());  // waits for the GPU
  return logits;
}

std::int32_t GpuModel::forward_greedy(std::span<const std::int32_t> tokens) {
  run(tokens, LogitRows::last, nullptr);
  argmax_rows(workspace_.logits.data(), workspace_.next_ids.data(), 1, config_.vocab_size);
  std::int32_t id = 0;
  copy_to_host(&id, workspace_.next_ids.data(), sizeof id);
  return id;
}

}  // namespace llama4::gpu
