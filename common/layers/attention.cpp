#include "common/layers/attention.hpp"

#include <algorithm>
#include <cmath>

#include "common/layers/attention_temperature.hpp"
#include "common/layers/rms_norm.hpp"
#include "common/layers/rope.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/matmul.hpp"

namespace llama4 {

AttentionLayer::AttentionLayer(const ModelConfig& config, std::int64_t layer,
                               AttentionWeights weights,
                               const std::vector<float>& inverse_frequencies)
    : layer_(layer),
      kind_(config.layer(layer)),
      heads_(config.num_attention_heads),
      kv_heads_(config.num_key_value_heads),
      head_dim_(config.head_dim),
      chunk_size_(kind_.chunked_attention ? config.attention_chunk_size : std::nullopt),
      norm_eps_(static_cast<float>(config.rms_norm_eps)),
      floor_scale_(config.floor_scale),
      attn_scale_(config.attn_scale),
      inverse_frequencies_(inverse_frequencies),
      weights_(std::move(weights)) {
  check_attention_weights(weights_, config, layer);
}

void check_attention_weights(const AttentionWeights& weights, const ModelConfig& config,
                             std::int64_t layer) {
  const std::int64_t hidden = config.hidden_size;
  const std::int64_t q_width = config.num_attention_heads * config.head_dim;
  const std::int64_t kv_width = config.num_key_value_heads * config.head_dim;
  const std::string where = "layer " + std::to_string(layer) + " attention ";
  expect_shape(weights.q_proj, {q_width, hidden}, where + "q_proj");
  expect_shape(weights.k_proj, {kv_width, hidden}, where + "k_proj");
  expect_shape(weights.v_proj, {kv_width, hidden}, where + "v_proj");
  expect_shape(weights.o_proj, {hidden, q_width}, where + "o_proj");
}

AttentionLayer::AttentionLayer(const ModelConfig& config, std::int64_t layer,
                               const Checkpoint& checkpoint, const WeightNames& names,
                               const std::vector<float>& inverse_frequencies)
    : AttentionLayer(
          config, layer,
          AttentionWeights{
              load_weight(checkpoint, names.layer(layer, "self_attn.q_proj.weight"),
                          {config.num_attention_heads * config.head_dim, config.hidden_size}),
              load_weight(checkpoint, names.layer(layer, "self_attn.k_proj.weight"),
                          {config.num_key_value_heads * config.head_dim, config.hidden_size}),
              load_weight(checkpoint, names.layer(layer, "self_attn.v_proj.weight"),
                          {config.num_key_value_heads * config.head_dim, config.hidden_size}),
              load_weight(checkpoint, names.layer(layer, "self_attn.o_proj.weight"),
                          {config.hidden_size, config.num_attention_heads * config.head_dim})},
          inverse_frequencies) {}

LayerKVCache AttentionLayer::make_cache(std::int64_t context_length) const {
  return LayerKVCache(kv_heads_, head_dim_, context_length, chunk_size_);
}

Tensor AttentionLayer::forward(const Tensor& x, LayerKVCache& cache,
                               ActivationRecorder* recorder) const {
  const std::int64_t tokens = x.dim(0);
  const std::int64_t start = cache.next_position();
  const auto record = [&](const char* stage, const Tensor& t) {
    if (recorder != nullptr) recorder->record(layer_, stage, t);
  };

  // Projections, viewed per head.
  Tensor q = linear(x, weights_.q_proj).reshape({tokens, heads_, head_dim_});  // [T, heads, D]
  Tensor k =
      linear(x, weights_.k_proj).reshape({tokens, kv_heads_, head_dim_});  // [T, kv_heads, D]
  Tensor v =
      linear(x, weights_.v_proj).reshape({tokens, kv_heads_, head_dim_});  // [T, kv_heads, D]
  record("q", q);
  record("k", k);
  record("v", v);

  if (kind_.uses_rope) {
    apply_rope(q, start, inverse_frequencies_);
    apply_rope(k, start, inverse_frequencies_);
    record("q_rope", q);
    record("k_rope", k);
    if (kind_.uses_qk_norm) {  // after RoPE, per head, no weight
      qk_norm(q, norm_eps_);
      qk_norm(k, norm_eps_);
      record("q_norm", q);
      record("k_norm", k);
    }
  } else if (kind_.uses_temperature_tuning) {  // NoPE layers: queries only, never the cached keys
    apply_attention_temperature(q, start, floor_scale_, attn_scale_);
    record("q_temperature", q);
  }

  Tensor context = Tensor::zeros({tokens, heads_ * head_dim_});  // [T, heads * D]
  Tensor probabilities;
  if (recorder != nullptr) probabilities = Tensor::zeros({heads_, tokens, start + tokens});

  // Store the keys and values, then attend. A chunked layer's cache is a ring of one chunk, so a
  // call that crosses a chunk boundary is done in pieces: each piece's keys go in, its queries
  // attend, and only then may the next chunk's keys overwrite the ring.
  const std::int64_t row = kv_heads_ * head_dim_;
  // [excerpt chunk_pieces]
  std::int64_t piece_start = 0;
  while (piece_start < tokens) {
    std::int64_t piece_end = tokens;
    if (chunk_size_) {
      const std::int64_t next_boundary = ((start + piece_start) / *chunk_size_ + 1) * *chunk_size_;
      piece_end = std::min(tokens, next_boundary - start);
    }
    for (std::int64_t t = piece_start; t < piece_end; ++t) {
      cache.append(start + t, k.data<float>() + t * row, v.data<float>() + t * row);
    }
    attend(q, piece_start, piece_end, cache, context, recorder ? &probabilities : nullptr, start);
    piece_start = piece_end;
  }
  // [end excerpt]
  if (recorder != nullptr) record("attn_probs", probabilities);
  record("attn_context", context);

  Tensor out = linear(context, weights_.o_proj);  // [T, H]
  record("attn_out", out);
  return out;
}

Tensor AttentionLayer::forward_batch(const Tensor& x, std::span<LayerKVCache* const> caches) const {
  const std::int64_t batch = x.dim(0);
  if (static_cast<std::int64_t>(caches.size()) != batch)
    fail("forward_batch: ", batch, " rows of x but ", caches.size(), " caches");
  Tensor q = linear(x, weights_.q_proj).reshape({batch, heads_, head_dim_});     // [B, heads, D]
  Tensor k = linear(x, weights_.k_proj).reshape({batch, kv_heads_, head_dim_});  // [B, kv, D]
  const Tensor v = linear(x, weights_.v_proj);                                   // [B, kv * D]
  Tensor context = Tensor::zeros({batch, heads_ * head_dim_});                   // [B, heads * D]
  const std::int64_t row = kv_heads_ * head_dim_;
  for (std::int64_t b = 0; b < batch; ++b) {
    LayerKVCache& cache = *caches[static_cast<std::size_t>(b)];
    const std::int64_t position = cache.next_position();
    Tensor q_row = q.slice(0, b, b + 1), k_row = k.slice(0, b, b + 1);  // views, [1, heads, D]
    if (kind_.uses_rope) {
      apply_rope(q_row, position, inverse_frequencies_);
      apply_rope(k_row, position, inverse_frequencies_);
      if (kind_.uses_qk_norm) {
        qk_norm(q_row, norm_eps_);
        qk_norm(k_row, norm_eps_);
      }
    } else if (kind_.uses_temperature_tuning) {
      apply_attention_temperature(q_row, position, floor_scale_, attn_scale_);
    }
    cache.append(position, k.data<float>() + b * row, v.data<float>() + b * row);
    // attend() places row t of q at position first_position + t: row b at `position`.
    attend(q, b, b + 1, cache, context, nullptr, position - b);
  }
  return linear(context, weights_.o_proj);  // [B, H]
}

void AttentionLayer::attend(const Tensor& q, std::int64_t start, std::int64_t end,
                            const LayerKVCache& cache, Tensor& context, Tensor* probabilities,
                            std::int64_t first_position) const {
  const std::int64_t group = heads_ / kv_heads_;  // query heads per kv head
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim_));
  const float* q_data = q.data<float>();
  float* context_data = context.mutable_data<float>();
  float* probability_data = probabilities ? probabilities->mutable_data<float>() : nullptr;
  const std::int64_t total_keys = probabilities ? probabilities->dim(2) : 0;
  const std::int64_t tokens = q.dim(0);
  // Every query of this piece sees keys from the same first position (0, or its chunk's start), so
  // each kv head's key/value rows are fetched and range-checked once, before the threads start: an
  // exception must never escape an OpenMP parallel region.
  const std::int64_t first = cache.first_visible(first_position + start);
  const std::int64_t last = first_position + end - 1;
  std::vector<const float*> head_keys(static_cast<std::size_t>(kv_heads_));    // each [.., D]
  std::vector<const float*> head_values(static_cast<std::size_t>(kv_heads_));  // each [.., D]
  for (std::int64_t g = 0; g < kv_heads_; ++g) {
    head_keys[static_cast<std::size_t>(g)] = cache.keys(g, first, last);
    head_values[static_cast<std::size_t>(g)] = cache.values(g, first, last);
  }

  // Parallel only when there is enough work: queries x keys x head_dim multiply-adds (twice).
  const std::int64_t work = (end - start) * heads_ * (first_position + end - first) * head_dim_;
  // One unit of work is (token, kv head): the `group` query heads that share a kv head are done
  // together, so each key and value row is read from memory once per group instead of once per
  // query head. That is what grouped-query attention is for: in decode, attention's cost is
  // reading the cache, and Scout's 40 query heads share 8 kv heads (5 per group).
//
// The units are dealt out round-robin (static, 1), not in two halves: with a causal mask a late
// token sees more keys than an early one, and halves gave the second thread three times the first
// one's work in a 384-token prefill (the first then waited for it).
#pragma omp parallel if (work > (1 << 16))
  {
    std::vector<float> scores;  // [group, visible keys], reused across this thread's work
#pragma omp for collapse(2) schedule(static, 1)
    // [excerpt attend]
    for (std::int64_t t = start; t < end; ++t) {
      for (std::int64_t g = 0; g < kv_heads_; ++g) {
        const std::int64_t position = first_position + t;
        const std::int64_t count = position - first + 1;  // visible keys: first..position
        const float* queries = q_data + (t * heads_ + g * group) * head_dim_;  // [group, D]
        const float* keys = head_keys[static_cast<std::size_t>(g)];            // [count, D]
        const float* values = head_values[static_cast<std::size_t>(g)];        // [count, D]
        scores.resize(static_cast<std::size_t>(group * count));

        // s[i, j] = q_i · k_j / √D for the group's query heads i, key by key.
        for (std::int64_t j = 0; j < count; ++j) {
          const float* key = keys + j * head_dim_;
          for (std::int64_t i = 0; i < group; ++i) {
            // dot (matmul.hpp) adds in vector lanes, in an order other than d = 0, 1, 2, ...: a
            // float sum in that order is one long chain of dependent adds.
            scores[static_cast<std::size_t>(i * count + j)] =
                dot(queries + i * head_dim_, key, head_dim_) * scale;
          }
        }

        // Softmax of each head's row (subtract the max so exp never overflows).
        for (std::int64_t i = 0; i < group; ++i) {
          float* row_scores = scores.data() + i * count;
          const float max_score = *std::max_element(row_scores, row_scores + count);
          float total = 0.0f;
          for (std::int64_t j = 0; j < count; ++j) {
            row_scores[j] = std::exp(row_scores[j] - max_score);
            total += row_scores[j];
          }
          for (std::int64_t j = 0; j < count; ++j) row_scores[j] /= total;
        }

        // context[t, g·group + i] = Σ_j p[i, j] · v_j[g], value row by value row.
        float* out = context_data + (t * heads_ + g * group) * head_dim_;  // [group, D]
        std::fill_n(out, group * head_dim_, 0.0f);
        for (std::int64_t j = 0; j < count; ++j) {
          const float* value = values + j * head_dim_;
          for (std::int64_t i = 0; i < group; ++i) {
            const float p = scores[static_cast<std::size_t>(i * count + j)];
            float* out_head = out + i * head_dim_;
            for (std::int64_t d = 0; d < head_dim_; ++d) out_head[d] += p * value[d];
          }
        }
        // [excerpt pause]
        if (probability_data != nullptr) {
          for (std::int64_t i = 0; i < group; ++i) {
            const std::int64_t h = g * group + i;
            float* probability_row = probability_data + (h * tokens + t) * total_keys;
            std::copy_n(scores.data() + i * count, count, probability_row + first);
          }
        }
        // [excerpt resume]
      }
    }
    // [end excerpt]
  }
}

}  // namespace llama4
