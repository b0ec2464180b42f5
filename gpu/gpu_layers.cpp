// The GPU layer blocks: each forward() is its CPU twin's, line for line, with the loops replaced by
// kernel launches. Launches return at once; the GPU runs the kernels in the order they were queued,
// so a kernel always sees its predecessors' results, and the host only waits where it downloads.
#include "gpu/gpu_layers.hpp"

#include <algorithm>
#include <cstring>

#include "common/tensors/error.hpp"
#include "gpu/attention.hpp"
#include "gpu/attention_temperature.hpp"
#include "gpu/feed_forward.hpp"
#include "gpu/matmul.hpp"
#include "gpu/moe.hpp"
#include "gpu/quantized_matmul.hpp"
#include "gpu/residual.hpp"
#include "gpu/rms_norm.hpp"
#include "gpu/rope.hpp"

namespace llama4::gpu {
namespace {

// Makes `buffer` hold at least `count` elements. Growing forgets the contents: buffers are only
// grown at the start of a forward pass, before anything is written to them.
template <class T>
void grow(DeviceBuffer<T>& buffer, std::int64_t count) {
  if (buffer.size() < static_cast<std::size_t>(count))
    buffer = DeviceBuffer<T>(static_cast<std::size_t>(count));
}

std::string layer_name(std::int64_t layer, const char* stage) {
  return "layers." + std::to_string(layer) + "." + stage;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Weights, workspace, recording

DeviceWeight upload_weight(const Tensor& weight, const std::string& what) {
  if (weight.dtype() != DType::BF16) {
    fail("GPU model: ", what, " has dtype ", dtype_name(weight.dtype()),
         "; the GPU reads it in bf16 only (chapter 12 quantizes the matrices, not this)");
  }
  if (!weight.is_contiguous()) fail("GPU model: ", what, " is not contiguous");
  DeviceWeight uploaded;
  uploaded.values = DeviceBuffer<bfloat16>(
      std::span(weight.data<bfloat16>(), static_cast<std::size_t>(weight.numel())));
  uploaded.shape = weight.shape();
  return uploaded;
}

DeviceWeight upload_matrix(const Tensor& weight, const std::string& what) {
  if (!is_block_quantized(weight.dtype())) return upload_weight(weight, what);
  if (!weight.is_contiguous()) fail("GPU model: ", what, " is not contiguous");
  DeviceWeight uploaded;
  uploaded.packed = DeviceBuffer<std::byte>(
      std::span(weight.raw_data(), static_cast<std::size_t>(weight.nbytes())));
  uploaded.dtype = weight.dtype();
  uploaded.shape = weight.shape();
  return uploaded;
}

void project(const float* x, const DeviceWeight& weight, float* y, std::int64_t rows,
             std::int64_t in, std::int64_t out) {
  if (weight.dtype == DType::BF16) return linear(x, weight.data(), y, rows, in, out);
  quantized_linear(x, weight.packed.data(), weight.dtype, y, rows, in, out);
}

void Workspace::reserve(const ModelConfig& config, std::int64_t count) {
  if (count <= tokens) return;
  const std::int64_t hidden = config.hidden_size, head_dim = config.head_dim;
  const std::int64_t width = config.intermediate_size;
  const std::int64_t dense_width = std::max(config.intermediate_size, config.intermediate_size_mlp);
  const std::int64_t experts = config.num_local_experts, top_k = config.num_experts_per_tok;
  grow(ids, count);
  grow(x, count * hidden);
  grow(normed, count * hidden);
  grow(q, count * config.num_attention_heads * head_dim);
  grow(k, count * config.num_key_value_heads * head_dim);
  grow(v, count * config.num_key_value_heads * head_dim);
  grow(context, count * config.num_attention_heads * head_dim);
  grow(block_out, count * hidden);
  grow(gate, count * dense_width);
  grow(up, count * dense_width);
  grow(router_logits, count * experts);
  grow(expert_index, count * top_k);
  grow(expert_score, count * top_k);
  grow(expert_slots, count * top_k);
  grow(expert_input, count * hidden);
  grow(expert_gate_up, count * 2 * width);
  grow(expert_hidden, count * width);
  grow(expert_output, count * hidden);
  grow(routed, count * hidden);
  tokens = count;
}

void Workspace::reserve_logits(const ModelConfig& config, std::int64_t rows) {
  if (rows <= logit_rows) return;
  grow(logits, rows * config.vocab_size);
  grow(next_ids, rows);
  logit_rows = rows;
}

void record(ActivationRecorder* recorder, const std::string& name, const float* device,
            const Shape& shape) {
  if (recorder == nullptr) return;
  Tensor tensor = Tensor::zeros(shape);
  if (tensor.numel() > 0) copy_to_host(tensor.mutable_data<float>(), device, tensor.nbytes());
  recorder->record(name, tensor);
}

void record(ActivationRecorder* recorder, const std::string& name, const std::int32_t* device,
            const Shape& shape) {
  if (recorder == nullptr) return;
  Tensor tensor = Tensor::zeros(shape, DType::I32);
  if (tensor.numel() > 0)
    copy_to_host(tensor.mutable_data<std::int32_t>(), device, tensor.nbytes());
  recorder->record(name, tensor);
}

// ---------------------------------------------------------------------------------------------
// Attention: common/layers/attention.cpp, AttentionLayer::forward

GpuAttention::GpuAttention(const ModelConfig& config, std::int64_t layer,
                           const AttentionWeights& weights, const float* inverse_frequencies)
    : layer_(layer),
      kind_(config.layer(layer)),
      hidden_(config.hidden_size),
      heads_(config.num_attention_heads),
      kv_heads_(config.num_key_value_heads),
      head_dim_(config.head_dim),
      chunk_size_(kind_.chunked_attention ? config.attention_chunk_size : std::nullopt),
      norm_eps_(static_cast<float>(config.rms_norm_eps)),
      floor_scale_(config.floor_scale),
      attn_scale_(config.attn_scale),
      inverse_frequencies_(inverse_frequencies) {
  check_attention_weights(weights, config, layer);
  const std::string where = "layer " + std::to_string(layer) + " attention ";
  q_proj_ = upload_matrix(weights.q_proj, where + "q_proj");
  k_proj_ = upload_matrix(weights.k_proj, where + "k_proj");
  v_proj_ = upload_matrix(weights.v_proj, where + "v_proj");
  o_proj_ = upload_matrix(weights.o_proj, where + "o_proj");
}

DeviceKVCache GpuAttention::make_cache(std::int64_t context_length) const {
  return DeviceKVCache(kv_heads_, head_dim_, context_length, chunk_size_);
}

std::size_t GpuAttention::weight_bytes() const {
  return q_proj_.bytes() + k_proj_.bytes() + v_proj_.bytes() + o_proj_.bytes();
}

void GpuAttention::forward(const float* x, std::int64_t tokens, DeviceKVCache& cache, float* out,
                           Workspace& workspace, ActivationRecorder* recorder) const {
  const std::int64_t start = cache.next_position();
  const std::int64_t q_row = heads_ * head_dim_;      // one token's queries, all heads
  const std::int64_t kv_row = kv_heads_ * head_dim_;  // one token's keys (or values)
  float* q = workspace.q.data();                      // [T, heads, D]
  float* k = workspace.k.data();                      // [T, kv_heads, D]
  float* v = workspace.v.data();                      // [T, kv_heads, D]
  const Shape q_shape = {tokens, heads_, head_dim_};
  const Shape kv_shape = {tokens, kv_heads_, head_dim_};

  // Projections.
  project(x, q_proj_, q, tokens, hidden_, q_row);
  project(x, k_proj_, k, tokens, hidden_, kv_row);
  project(x, v_proj_, v, tokens, hidden_, kv_row);
  record(recorder, layer_name(layer_, "q"), q, q_shape);
  record(recorder, layer_name(layer_, "k"), k, kv_shape);
  record(recorder, layer_name(layer_, "v"), v, kv_shape);

  if (kind_.uses_rope) {
    apply_rope(q, tokens, heads_, head_dim_, start, inverse_frequencies_);
    apply_rope(k, tokens, kv_heads_, head_dim_, start, inverse_frequencies_);
    record(recorder, layer_name(layer_, "q_rope"), q, q_shape);
    record(recorder, layer_name(layer_, "k_rope"), k, kv_shape);
    if (kind_.uses_qk_norm) {  // after RoPE, per head, no weight
      qk_norm(q, tokens * heads_, head_dim_, norm_eps_);
      qk_norm(k, tokens * kv_heads_, head_dim_, norm_eps_);
      record(recorder, layer_name(layer_, "q_norm"), q, q_shape);
      record(recorder, layer_name(layer_, "k_norm"), k, kv_shape);
    }
  } else if (kind_.uses_temperature_tuning) {  // NoPE layers: queries only, never the cached keys
    apply_attention_temperature(q, tokens, q_row, start, floor_scale_, attn_scale_);
    record(recorder, layer_name(layer_, "q_temperature"), q, q_shape);
  }

  // Store the keys and values, then attend; piece by piece on a chunked layer, whose ring holds one
  // chunk: each piece's keys go in and its queries attend before the next chunk overwrites the
  // ring.
  float* context = workspace.context.data();  // [T, heads · D]
  std::int64_t piece_start = 0;
  while (piece_start < tokens) {
    std::int64_t piece_end = tokens;
    if (chunk_size_) {
      const std::int64_t next_boundary = ((start + piece_start) / *chunk_size_ + 1) * *chunk_size_;
      piece_end = std::min(tokens, next_boundary - start);
    }
    const std::int64_t piece = piece_end - piece_start;
    cache.append(k + piece_start * kv_row, v + piece_start * kv_row, piece);
    attention(q + piece_start * q_row, cache.keys(), cache.values(), context + piece_start * q_row,
              piece, heads_, kv_heads_, head_dim_, start + piece_start, cache.chunk_size());
    piece_start = piece_end;
  }
  record(recorder, layer_name(layer_, "attn_context"), context, {tokens, q_row});

  project(context, o_proj_, out, tokens, q_row, hidden_);  // [T, H]
  record(recorder, layer_name(layer_, "attn_out"), out, {tokens, hidden_});
}

// ---------------------------------------------------------------------------------------------
// Feed-forward: common/layers/feed_forward.cpp, FeedForward::forward

GpuFeedForward::GpuFeedForward(const FeedForward& weights, const std::string& what)
    : hidden_(weights.gate_proj.dim(1)),
      width_(weights.gate_proj.dim(0)),
      gate_proj_(upload_matrix(weights.gate_proj, what + "gate_proj")),
      up_proj_(upload_matrix(weights.up_proj, what + "up_proj")),
      down_proj_(upload_matrix(weights.down_proj, what + "down_proj")) {
  expect_shape(weights.up_proj, {width_, hidden_}, what + "up_proj");
  expect_shape(weights.down_proj, {hidden_, width_}, what + "down_proj");
}

void GpuFeedForward::forward(const float* x, std::int64_t tokens, float* out,
                             Workspace& workspace) const {
  float* gate = workspace.gate.data();  // [T, I]
  float* up = workspace.up.data();      // [T, I]
  project(x, gate_proj_, gate, tokens, hidden_, width_);
  project(x, up_proj_, up, tokens, hidden_, width_);
  swiglu(gate, up, tokens * width_);  // gate now holds silu(gate) ⊙ up
  project(gate, down_proj_, out, tokens, width_, hidden_);
}

// ---------------------------------------------------------------------------------------------
// Mixture of experts: common/layers/moe.cpp, MoeLayer::forward; the dispatch is drawn in
// gpu/moe.hpp

GpuMoe::GpuMoe(const ModelConfig& config, std::int64_t layer, const MoeWeights& weights)
    : layer_(layer),
      hidden_(config.hidden_size),
      experts_(config.num_local_experts),
      top_k_(config.num_experts_per_tok),
      width_(config.intermediate_size),
      router_(upload_weight(weights.router, "layer " + std::to_string(layer) + " MoE router")),
      gate_up_proj_(upload_matrix(weights.gate_up_proj,
                                  "layer " + std::to_string(layer) + " MoE experts.gate_up_proj")),
      down_proj_(upload_matrix(weights.down_proj,
                               "layer " + std::to_string(layer) + " MoE experts.down_proj")),
      shared_expert_(weights.shared_expert,
                     "layer " + std::to_string(layer) + " MoE shared_expert.") {
  check_moe_weights(weights, config, layer);
  if (top_k_ < 1 || top_k_ > experts_)
    fail("layer ", layer, " MoE top_k ", top_k_, " with ", experts_, " experts");
}

std::size_t GpuMoe::weight_bytes() const {
  return router_.bytes() + gate_up_proj_.bytes() + down_proj_.bytes() +
         shared_expert_.weight_bytes();
}

namespace {

// x · W for expert e of a stack of `size` weights each: [in, out] in bf16 as stored (gpu::matmul),
// or [out, in] once quantized (chapter 12 transposes the experts so that blocks run along `in`).
void expert_product(const float* x, const DeviceWeight& stack, std::int64_t e, std::int64_t size,
                    float* y, std::int64_t rows, std::int64_t in, std::int64_t out) {
  if (stack.dtype == DType::BF16) return matmul(x, stack.data() + e * size, y, rows, in, out);
  const std::size_t expert_bytes = stack.packed.bytes() / static_cast<std::size_t>(stack.shape[0]);
  quantized_linear(x, stack.packed.data() + static_cast<std::size_t>(e) * expert_bytes, stack.dtype,
                   y, rows, in, out);
}

}  // namespace

void GpuMoe::forward(const float* x, std::int64_t tokens, float* out, Workspace& workspace,
                     ActivationRecorder* recorder) const {
  // 1-2. The router: logits, then the top-k experts of each token and their sigmoid scores.
  float* logits = workspace.router_logits.data();              // [T, E]
  std::int32_t* expert_index = workspace.expert_index.data();  // [T, k]
  float* expert_score = workspace.expert_score.data();         // [T, k]
  linear(x, router_.data(), logits, tokens, hidden_, experts_);
  route_top_k(logits, expert_index, expert_score, tokens, experts_, top_k_);

  // 3. Which tokens go to which expert, decided on the host: the download waits for the router.
  std::vector<std::int32_t> chosen(static_cast<std::size_t>(tokens * top_k_));
  copy_to_host(chosen.data(), expert_index, chosen.size() * sizeof(std::int32_t));
  const ExpertBatches batches = batch_by_expert(chosen, experts_);
  std::int32_t* slots = workspace.expert_slots.data();  // [T · k], batched by expert
  copy_to_device(slots, batches.slots.data(), batches.slots.size() * sizeof(std::int32_t));

  // 4. The routed experts, one after another, each on the tokens routed to it.
  float* routed = workspace.routed.data();  // [T, H]
  clear_device_memory(routed, static_cast<std::size_t>(tokens * hidden_) * sizeof(float));
  const std::int64_t gate_up_size = hidden_ * 2 * width_;  // one expert's [H, 2I]
  const std::int64_t down_size = width_ * hidden_;         // one expert's [I, H]
  for (std::int64_t e = 0; e < experts_; ++e) {
    const std::int64_t n = batches.count(e);
    if (n == 0) continue;
    const std::int32_t* expert_slots = slots + batches.offsets[static_cast<std::size_t>(e)];
    gather_scaled_rows(x, expert_score, expert_slots, workspace.expert_input.data(), n, top_k_,
                       hidden_);
    expert_product(workspace.expert_input.data(), gate_up_proj_, e, gate_up_size,
                   workspace.expert_gate_up.data(), n, hidden_, 2 * width_);
    swiglu_fused(workspace.expert_gate_up.data(), workspace.expert_hidden.data(), n, width_);
    expert_product(workspace.expert_hidden.data(), down_proj_, e, down_size,
                   workspace.expert_output.data(), n, width_, hidden_);
    scatter_add_rows(workspace.expert_output.data(), expert_slots, routed, n, top_k_, hidden_);
  }

  // The shared expert sees every token, unscaled.
  shared_expert_.forward(x, tokens, out, workspace);  // [T, H]
  record(recorder, layer_name(layer_, "router_logits"), logits, {tokens, experts_});
  record(recorder, layer_name(layer_, "expert_index"), expert_index, {tokens, top_k_});
  record(recorder, layer_name(layer_, "expert_score"), expert_score, {tokens, top_k_});
  record(recorder, layer_name(layer_, "routed_out"), routed, {tokens, hidden_});
  record(recorder, layer_name(layer_, "shared_out"), out, {tokens, hidden_});
  add_into(out, routed, tokens * hidden_);  // shared + routed
}

// ---------------------------------------------------------------------------------------------
// The decoder layer: common/layers/decoder_layer.cpp, DecoderLayer::forward

GpuDecoderLayer::GpuDecoderLayer(const ModelConfig& config, std::int64_t layer,
                                 const DecoderLayer& cpu_layer, const float* inverse_frequencies)
    : layer_(layer),
      hidden_(config.hidden_size),
      norm_eps_(static_cast<float>(config.rms_norm_eps)),
      input_norm_(upload_weight(cpu_layer.input_norm(), layer_name(layer, "input_layernorm"))),
      post_attention_norm_(upload_weight(cpu_layer.post_attention_norm(),
                                         layer_name(layer, "post_attention_layernorm"))),
      attention_(config, layer, cpu_layer.attention().weights(), inverse_frequencies) {
  if (const MoeLayer* moe = cpu_layer.moe()) {
    moe_.emplace(config, layer, moe->weights());
  } else {
    mlp_.emplace(*cpu_layer.mlp(), "layer " + std::to_string(layer) + " feed_forward.");
  }
}

std::size_t GpuDecoderLayer::weight_bytes() const {
  return input_norm_.bytes() + post_attention_norm_.bytes() + attention_.weight_bytes() +
         (moe_ ? moe_->weight_bytes() : mlp_->weight_bytes());
}

void GpuDecoderLayer::forward(std::int64_t tokens, DeviceKVCache& cache, Workspace& workspace,
                              ActivationRecorder* recorder) const {
  float* x = workspace.x.data();                  // [T, H] the residual stream
  float* normed = workspace.normed.data();        // [T, H]
  float* block_out = workspace.block_out.data();  // [T, H]
  const std::int64_t count = tokens * hidden_;
  const Shape shape = {tokens, hidden_};

  // Attention block.
  rms_norm(x, input_norm_.data(), normed, tokens, hidden_, norm_eps_);
  record(recorder, layer_name(layer_, "attn_norm"), normed, shape);
  attention_.forward(normed, tokens, cache, block_out, workspace, recorder);
  add_into(x, block_out, count);
  record(recorder, layer_name(layer_, "attn_residual"), x, shape);

  // Feed-forward block.
  rms_norm(x, post_attention_norm_.data(), normed, tokens, hidden_, norm_eps_);
  record(recorder, layer_name(layer_, "ffn_norm"), normed, shape);
  if (moe_) {
    moe_->forward(normed, tokens, block_out, workspace, recorder);
  } else {
    mlp_->forward(normed, tokens, block_out, workspace);
    record(recorder, layer_name(layer_, "mlp_out"), block_out, shape);
  }
  record(recorder, layer_name(layer_, "ffn_out"), block_out, shape);
  add_into(x, block_out, count);
  record(recorder, layer_name(layer_, "output"), x, shape);
}

}  // namespace llama4::gpu
