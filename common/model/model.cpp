#include "common/model/model.hpp"

#include <unistd.h>

#include "common/layers/embedding.hpp"
#include "common/layers/rms_norm.hpp"
#include "common/layers/rope.hpp"
#include "common/quantization/gguf_model.hpp"
#include "common/quantization/quantized_checkpoint.hpp"
#include "common/quantization/repacked_q4_0.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/matmul.hpp"

namespace llama4 {

std::size_t KVCache::bytes() const {
  std::size_t total = 0;
  for (const LayerKVCache& layer : layers) total += layer.bytes();
  return total;
}

void KVCache::clear() {
  for (LayerKVCache& layer : layers) layer.clear();
}

Model Model::load(const std::filesystem::path& directory) {
  if (is_gguf_path(directory)) {  // llama.cpp's format (chapter 12)
    GgufModel gguf = open_gguf_model(directory);
    return Model(std::move(gguf.config), std::move(gguf.checkpoint));
  }
  ModelConfig config = load_model_config(directory);
  return Model(std::move(config), open_checkpoint(directory));  // quantized or not (chapter 12)
}

namespace {

// config.json and the weights must describe the same model, and the sizes that the program builds
// things from (the layer list, the RoPE table) are checked against the tensors before anything is
// built: the last layer must exist and no layer after it, and layer 0's query projection must be
// [heads x head_dim, hidden].
void check_config_matches_weights(const ModelConfig& config, const Checkpoint& checkpoint,
                                  const WeightNames& names) {
  const std::int64_t layers = config.num_hidden_layers;
  const std::string last = names.layer(layers - 1, "input_layernorm.weight");
  if (!checkpoint.contains(last)) {
    fail("config.json says ", layers, " layers, but checkpoint ", checkpoint.location(),
         " has no tensor \"", last, "\"; does config.json belong to these weights?");
  }
  const std::string beyond = names.layer(layers, "input_layernorm.weight");
  if (checkpoint.contains(beyond)) {
    fail("config.json says ", layers, " layers, but checkpoint ", checkpoint.location(), " has \"",
         beyond, "\" too; does config.json belong to these weights?");
  }
  load_weight(checkpoint, names.layer(0, "self_attn.q_proj.weight"),
              {config.num_attention_heads * config.head_dim, config.hidden_size});
}

}  // namespace

Model::Model(ModelConfig config, Checkpoint checkpoint)
    : config_(std::move(config)), checkpoint_(std::move(checkpoint)) {
  const WeightNames names(checkpoint_);
  const std::int64_t vocab = config_.vocab_size, hidden = config_.hidden_size;
  embedding_ = load_weight(checkpoint_, names.embedding(), {vocab, hidden});
  check_config_matches_weights(config_, checkpoint_, names);
  inverse_frequencies_ =
      rope_inverse_frequencies(config_.head_dim, config_.rope_theta, config_.rope_scaling);
  for (std::int64_t layer = 0; layer < config_.num_hidden_layers; ++layer) {
    layers_.emplace_back(config_, layer, checkpoint_, names, inverse_frequencies_);
  }
  final_norm_ = load_weight(checkpoint_, names.final_norm(), {hidden});
  // Llama 4 does not tie the LM head to the embedding, but a config may say it does.
  lm_head_ = config_.tie_word_embeddings && !checkpoint_.contains(names.lm_head())
                 ? embedding_
                 : load_weight(checkpoint_, names.lm_head(), {vocab, hidden});
  // Kernel v4's interleaved copies of the Q4_0 matrices, made now rather than in the first decode
  // step (common/quantization/repacked_q4_0.hpp). The embedding is read a row at a time, never
  // multiplied, unless it is also the LM head.
  for_each_weight_read_per_token([&](const Tensor& weight, std::uint64_t, std::uint64_t) {
    if (weight.raw_data() != embedding_.raw_data() || lm_head_.raw_data() == embedding_.raw_data())
      prepare_for_decode(weight);
  });
}

std::uint64_t check_context_length(const ModelConfig& config, std::int64_t context_length) {
  if (context_length <= 0) fail("the context length must be positive, got ", context_length);
  if (context_length > config.max_position_embeddings) {
    fail("a context of ", context_length, " tokens is longer than the model's ",
         config.max_position_embeddings,
         " (max_position_embeddings, the positions it was trained for); use a shorter --ctx");
  }
  std::uint64_t total = 0;
  for (const LayerConfig& layer : config.layers) {
    const std::optional<std::int64_t> chunk =
        layer.chunked_attention ? config.attention_chunk_size : std::nullopt;
    const std::uint64_t bytes = LayerKVCache::bytes_needed(config.num_key_value_heads,
                                                           config.head_dim, context_length, chunk);
    if (__builtin_add_overflow(total, bytes, &total)) {
      fail("the KV cache of a ", context_length, "-token context overflows a byte count");
    }
  }
  return total;
}

KVCache Model::make_cache(std::int64_t context_length) const {
  // Checked and bounded before a byte is allocated. Zero-filling more than the machine has would
  // not fail cleanly: the kernel would kill the process partway through.
  const std::uint64_t bytes = check_context_length(config_, context_length);
  const std::uint64_t memory = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                               static_cast<std::uint64_t>(::sysconf(_SC_PAGE_SIZE));
  if (bytes > memory) {
    fail("the KV cache of a ", context_length, "-token context needs ",
         static_cast<double>(bytes) / 1e9, " GB, more than this machine's ",
         static_cast<double>(memory) / 1e9, " GB of memory; use a shorter --ctx");
  }
  KVCache cache;
  cache.context_length = context_length;
  for (const DecoderLayer& layer : layers_)
    cache.layers.push_back(layer.make_cache(context_length));
  return cache;
}

Tensor Model::forward(std::span<const std::int32_t> tokens, KVCache& cache, LogitRows rows,
                      ActivationRecorder* recorder) const {
  const auto count = static_cast<std::int64_t>(tokens.size());
  if (count == 0) fail("forward: no tokens to process");
  if (cache.layers.size() != layers_.size())
    fail("forward: the KV cache was made for another model");
  const std::int64_t start = cache.next_position();
  if (start + count > cache.context_length) {
    fail("the sequence would reach ", start + count, " tokens, past the context length ",
         cache.context_length, " (positions ", start, "..", start + count - 1,
         "); raise --ctx or shorten the prompt");
  }

  // [excerpt model_forward]
  Tensor x = embed_tokens(tokens, embedding_);  // [T, H]
  if (recorder != nullptr) recorder->record("embedding", x);
  for (std::size_t layer = 0; layer < layers_.size(); ++layer) {
    x = layers_[layer].forward(x, cache.layers[layer], recorder);
  }
  // Only the rows we need go through the final norm and the (large) LM head.
  const Tensor last_rows = rows == LogitRows::all ? x : x.slice(0, count - 1, count);
  const Tensor normed = rms_norm(last_rows, final_norm_, static_cast<float>(config_.rms_norm_eps));
  if (recorder != nullptr) recorder->record("final_norm", normed);
  Tensor logits = linear(normed, lm_head_);  // [rows, V]
  if (recorder != nullptr) recorder->record("logits", logits);
  return logits;
  // [end excerpt]
}

Tensor Model::forward_batch(std::span<const std::int32_t> tokens,
                            std::span<KVCache* const> caches) const {
  if (tokens.empty()) fail("forward_batch: no sequences");
  if (tokens.size() != caches.size())
    fail("forward_batch: ", tokens.size(), " tokens but ", caches.size(), " caches");
  for (std::size_t b = 0; b < caches.size(); ++b) {
    const KVCache& cache = *caches[b];
    if (cache.layers.size() != layers_.size())
      fail("forward_batch: the KV cache of sequence ", b, " was made for another model");
    if (cache.next_position() >= cache.context_length) {
      fail("forward_batch: sequence ", b, " is full (", cache.context_length,
           " tokens, its context length)");
    }
  }
  Tensor x = embed_tokens(tokens, embedding_);  // [B, H]
  std::vector<LayerKVCache*> layer_caches(caches.size());
  for (std::size_t layer = 0; layer < layers_.size(); ++layer) {
    for (std::size_t b = 0; b < caches.size(); ++b) layer_caches[b] = &caches[b]->layers[layer];
    x = layers_[layer].forward_batch(x, layer_caches);
  }
  const Tensor normed = rms_norm(x, final_norm_, static_cast<float>(config_.rms_norm_eps));
  return linear(normed, lm_head_);  // [B, V]
}

void Model::for_each_weight_read_per_token(
    const std::function<void(const Tensor&, std::uint64_t, std::uint64_t)>& read) const {
  // One embedding row, then every layer's norms, attention projections and feed-forward, then the
  // final norm and the whole LM head. Of the routed experts only the chosen ones are read.
  read(embedding_, 1, static_cast<std::uint64_t>(embedding_.dim(0)));
  read(final_norm_, 1, 1);
  read(lm_head_, 1, 1);
  for (const DecoderLayer& layer : layers_) {
    const AttentionWeights& attention = layer.attention().weights();
    for (const Tensor* tensor :
         {&layer.input_norm(), &layer.post_attention_norm(), &attention.q_proj, &attention.k_proj,
          &attention.v_proj, &attention.o_proj})
      read(*tensor, 1, 1);
    const FeedForward& dense = layer.moe() ? layer.moe()->weights().shared_expert : *layer.mlp();
    for (const Tensor* tensor : {&dense.gate_proj, &dense.up_proj, &dense.down_proj})
      read(*tensor, 1, 1);
    if (const MoeLayer* moe = layer.moe()) {
      const MoeWeights& w = moe->weights();
      const auto experts = static_cast<std::uint64_t>(w.gate_up_proj.dim(0));
      const auto chosen = static_cast<std::uint64_t>(config_.num_experts_per_tok);
      read(w.router, 1, 1);
      read(w.gate_up_proj, chosen, experts);
      read(w.down_proj, chosen, experts);
    }
  }
}

std::uint64_t Model::bytes_read_per_token() const {
  std::uint64_t bytes = 0;
  for_each_weight_read_per_token([&](const Tensor& tensor, std::uint64_t parts, std::uint64_t of) {
    bytes += tensor.nbytes() / of * parts;
  });
  return bytes;
}

std::uint64_t Model::flops_per_token() const {
  // Every weight element read in a decode step is used in one multiply-add (norms aside).
  std::uint64_t elements = 0;
  for_each_weight_read_per_token([&](const Tensor& tensor, std::uint64_t parts, std::uint64_t of) {
    elements += static_cast<std::uint64_t>(tensor.numel()) / of * parts;
  });
  return 2 * elements;
}

void Model::touch_weights(const std::function<void(std::uint64_t, std::uint64_t)>& progress) const {
  const std::uint64_t total = checkpoint_.total_bytes();
  std::uint64_t done = 0;
  volatile std::uint8_t sink = 0;
  for (const std::string& name : checkpoint_.names()) {
    const Tensor tensor = checkpoint_.tensor(name);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(tensor.raw_data());
    for (std::size_t offset = 0; offset < tensor.nbytes(); offset += 4096)
      sink = sink + bytes[offset];
    done += tensor.nbytes();
    progress(done, total);
  }
}

}  // namespace llama4
