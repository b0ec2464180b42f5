// The Llama 4 text model: embedding, the decoder stack, the final norm and the LM head.
//
//   ids: [T] ── embed_tokens ── layer 0 ── layer 1 ── ... ── layer L-1 ── norm ── lm_head ──
//   logits: [T, V]
//
// A forward pass takes the next T tokens of a sequence; the KVCache remembers everything before
// them, so the same function serves the prompt ("prefill": T = prompt length, matrix-matrix work)
// and generation ("decode": T = 1, matrix-vector work).
//
// The weights are views into the memory-mapped checkpoint in their stored dtype (bf16): nothing is
// copied or converted up front, so the resident memory is the part of the checkpoint the OS has
// paged in plus the KV cache.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <vector>

#include "common/debugging/activation_recorder.hpp"
#include "common/layers/decoder_layer.hpp"
#include "common/layers/kv_cache.hpp"
#include "common/tensors/checkpoint.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {

// The KV caches of every layer, sharing one position counter.
struct KVCache {
  std::vector<LayerKVCache> layers;
  std::int64_t context_length = 0;

  std::int64_t next_position() const { return layers.empty() ? 0 : layers.front().next_position(); }
  std::size_t bytes() const;
  void clear();
};

// The context lengths a model accepts: 1 to max_position_embeddings (the positions it was trained
// for; --ctx is capped there), with a KV cache whose size does not overflow. Returns that size in
// bytes (keys and values of every layer, F32); an Error otherwise. Nothing is allocated, so a
// session on any device can check a context length before building its cache.
std::uint64_t check_context_length(const ModelConfig& config, std::int64_t context_length);

// Which rows of logits a forward pass computes. Generation needs only the last token's; perplexity
// and --dump-logits need every position's. For Scout the LM head is 2 GB of weights, [T, 202048].
enum class LogitRows { last, all };

class Model {
 public:
  // Loads config.json and the weights of an HF checkpoint directory (checks every shape).
  static Model load(const std::filesystem::path& directory);
  Model(ModelConfig config, Checkpoint checkpoint);

  const ModelConfig& config() const { return config_; }
  const Checkpoint& checkpoint() const { return checkpoint_; }

  // A KV cache for `context_length` positions: check_context_length, and the cache must fit in
  // this machine's memory.
  KVCache make_cache(std::int64_t context_length) const;

  // tokens: [T] at positions cache.next_position() ... + T - 1. Returns logits [T, V]
  // (LogitRows::all) or [1, V] for the last token. An empty `tokens`, a token outside the
  // vocabulary or a sequence longer than the cache's context length is an Error.
  Tensor forward(std::span<const std::int32_t> tokens, KVCache& cache,
                 LogitRows rows = LogitRows::all, ActivationRecorder* recorder = nullptr) const;

  // Batched decode: tokens[b] is the next token of the sequence whose cache is caches[b], each
  // sequence at its own position. The B tokens go through every matrix together, so a weight read
  // from memory serves B tokens instead of one. Returns logits [B, V]. Equal to running each
  // sequence alone up to f32 rounding (the products sum in another order).
  Tensor forward_batch(std::span<const std::int32_t> tokens,
                       std::span<KVCache* const> caches) const;

  // Bytes of weights one decode step reads: attention, the shared + one routed expert (per chosen
  // expert) or the dense MLP, norms, and the LM head. The figure the memory-bandwidth ceiling
  // applies to.
  std::uint64_t bytes_read_per_token() const;
  // The weights one token touches times 2 FLOP per multiply-add.
  std::uint64_t flops_per_token() const;

  // Reads every weight page once so later passes do not stall on disk, calling progress(done,
  // total).
  void touch_weights(const std::function<void(std::uint64_t, std::uint64_t)>& progress) const;

 private:
  // Calls read(tensor, parts, of) for every weight tensor a decode step reads: the fraction
  // parts / of of it (one row of the embedding, the chosen experts of the stacked experts).
  void for_each_weight_read_per_token(
      const std::function<void(const Tensor&, std::uint64_t, std::uint64_t)>& read) const;

  ModelConfig config_;
  Checkpoint checkpoint_;
  std::vector<float> inverse_frequencies_;
  Tensor embedding_;  // [V, H]
  std::vector<DecoderLayer> layers_;
  Tensor final_norm_;  // [H]
  Tensor lm_head_;     // [V, H]
};

}  // namespace llama4
