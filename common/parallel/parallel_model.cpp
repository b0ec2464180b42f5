#include "common/parallel/parallel_model.hpp"

#include "common/layers/decoder_layer.hpp"
#include "common/layers/embedding.hpp"
#include "common/layers/moe_router.hpp"
#include "common/layers/rms_norm.hpp"
#include "common/layers/rope.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/matmul.hpp"

namespace llama4 {
namespace {

// A group of one rank (tp 1, or ep 1) holds the whole sum already: nothing to send.
void all_reduce(Communicator& group, Tensor& x) {
  if (group.size() == 1) return;
  group.all_reduce_sum({x.mutable_data<float>(), static_cast<std::size_t>(x.numel())});
}

// Chapter 14 splits float weights; a quantized checkpoint's blocks run along the input features,
// which a column split would cut (chapter 12).
Tensor float_weight(const Checkpoint& checkpoint, const std::string& name, const Shape& shape) {
  Tensor weight = load_weight(checkpoint, name, shape);
  if (!is_floating_point(weight.dtype()))
    fail(name, ": ", dtype_name(weight.dtype()),
         " weights cannot be split here (float weights only)");
  return weight;
}

// Rows [begin, end) of a matrix: a view, nothing read until used.
Tensor rows(const Tensor& matrix, IndexRange range) {
  return matrix.slice(0, range.begin, range.end);
}

// Columns [begin, end) of a matrix: a copy (the columns are not contiguous in memory), in the
// weight's own dtype.
Tensor columns(const Tensor& matrix, IndexRange range) {
  return matrix.slice(1, range.begin, range.end).clone();
}

// The MLP of width `width` at `prefix`, my share of it: gate and up by rows, down by columns.
FeedForward mlp_share(const Checkpoint& checkpoint, const std::string& prefix, std::int64_t hidden,
                      std::int64_t width, const ParallelPlan& plan) {
  const IndexRange mine = mlp_columns(plan, width);
  return {rows(float_weight(checkpoint, prefix + "gate_proj.weight", {width, hidden}), mine),
          rows(float_weight(checkpoint, prefix + "up_proj.weight", {width, hidden}), mine),
          columns(float_weight(checkpoint, prefix + "down_proj.weight", {hidden, width}), mine)};
}

std::uint64_t bytes_of(const FeedForward& mlp) {
  return mlp.gate_proj.nbytes() + mlp.up_proj.nbytes() + mlp.down_proj.nbytes();
}

}  // namespace

ParallelGroups split_groups(Communicator& world, const ParallelPlan& plan) {
  if (world.size() != plan.ranks || world.rank() != plan.rank)
    fail("the plan is for rank ", plan.rank, " of ", plan.ranks, ", this is rank ", world.rank(),
         " of ", world.size());
  ParallelGroups groups;
  groups.tensor_parallel = world.split(plan.tp_group());
  groups.expert_parallel = world.split(plan.ep_group());
  return groups;
}

ParallelModel::ParallelModel(const ModelConfig& config, const Checkpoint& checkpoint,
                             const ParallelPlan& plan, ParallelGroups groups)
    : config_(config),
      plan_(plan),
      tensor_group_(std::move(groups.tensor_parallel)),
      expert_group_(std::move(groups.expert_parallel)) {
  if (tensor_group_->size() != plan.tensor_parallel && tensor_group_->size() != 1)
    fail("a tp group of ", tensor_group_->size(), " ranks for --tp ", plan.tensor_parallel);
  if (expert_group_->size() != plan.expert_parallel && expert_group_->size() != 1)
    fail("an ep group of ", expert_group_->size(), " ranks for --ep ", plan.expert_parallel);

  const WeightNames names(checkpoint);
  const std::int64_t hidden = config.hidden_size, vocab = config.vocab_size, dim = config.head_dim;
  embedding_ = load_weight(checkpoint, names.embedding(), {vocab, hidden});
  final_norm_ = load_weight(checkpoint, names.final_norm(), {hidden});
  lm_head_ = config.tie_word_embeddings && !checkpoint.contains(names.lm_head())
                 ? embedding_
                 : load_weight(checkpoint, names.lm_head(), {vocab, hidden});
  inverse_frequencies_ = rope_inverse_frequencies(dim, config.rope_theta, config.rope_scaling);

  // My attention heads: a config that has only them, so the attention layer of chapter 06 runs
  // unchanged on its share.
  const IndexRange heads = query_heads(plan, config), kv_heads = key_value_heads(plan, config);
  ModelConfig attention_config = config;
  attention_config.num_attention_heads = heads.size();
  attention_config.num_key_value_heads = kv_heads.size();
  const IndexRange q_rows{heads.begin * dim, heads.end * dim};
  const IndexRange kv_rows{kv_heads.begin * dim, kv_heads.end * dim};
  // My experts: a config with only them, for the MoE layer of chapter 07.
  const IndexRange my_experts = experts(plan, config);
  ModelConfig experts_config = config;
  experts_config.num_local_experts = my_experts.size();

  const std::int64_t all_heads = config.num_attention_heads, all_kv = config.num_key_value_heads;
  for (std::int64_t l = 0; l < config.num_hidden_layers; ++l) {
    const auto name = [&](const char* tensor) { return names.layer(l, tensor); };
    Layer layer;
    layer.input_norm = load_weight(checkpoint, name("input_layernorm.weight"), {hidden});
    layer.post_attention_norm =
        load_weight(checkpoint, name("post_attention_layernorm.weight"), {hidden});
    AttentionWeights attention{
        rows(float_weight(checkpoint, name("self_attn.q_proj.weight"), {all_heads * dim, hidden}),
             q_rows),
        rows(float_weight(checkpoint, name("self_attn.k_proj.weight"), {all_kv * dim, hidden}),
             kv_rows),
        rows(float_weight(checkpoint, name("self_attn.v_proj.weight"), {all_kv * dim, hidden}),
             kv_rows),
        columns(
            float_weight(checkpoint, name("self_attn.o_proj.weight"), {hidden, all_heads * dim}),
            q_rows)};
    held_bytes_ += attention.q_proj.nbytes() + attention.k_proj.nbytes() +
                   attention.v_proj.nbytes() + attention.o_proj.nbytes();
    layer.attention.emplace(attention_config, l, std::move(attention), inverse_frequencies_);
    if (!config.layer(l).is_moe) {
      layer.mlp =
          mlp_share(checkpoint, name("feed_forward."), hidden, config.intermediate_size_mlp, plan);
      held_bytes_ += bytes_of(*layer.mlp);
    } else {
      const std::int64_t width = config.intermediate_size, all = config.num_local_experts;
      layer.shared_expert =
          mlp_share(checkpoint, name("feed_forward.shared_expert."), hidden, width, plan);
      layer.router = load_weight(checkpoint, name("feed_forward.router.weight"), {all, hidden});
      MoeWeights mine{rows(layer.router, my_experts),
                      rows(float_weight(checkpoint, name("feed_forward.experts.gate_up_proj"),
                                        {all, hidden, 2 * width}),
                           my_experts),
                      rows(float_weight(checkpoint, name("feed_forward.experts.down_proj"),
                                        {all, width, hidden}),
                           my_experts),
                      *layer.shared_expert};
      held_expert_bytes_ += mine.gate_up_proj.nbytes() + mine.down_proj.nbytes();
      held_bytes_ += bytes_of(*layer.shared_expert) + layer.router.nbytes() +
                     mine.gate_up_proj.nbytes() + mine.down_proj.nbytes();
      layer.experts.emplace(experts_config, l, std::move(mine));
    }
    held_bytes_ += layer.input_norm.nbytes() + layer.post_attention_norm.nbytes();
    layers_.push_back(std::move(layer));
  }
  held_bytes_ += embedding_.nbytes() + final_norm_.nbytes() +
                 (lm_head_.raw_data() == embedding_.raw_data() ? 0 : lm_head_.nbytes());
}

KVCache ParallelModel::make_cache(std::int64_t context_length) const {
  check_context_length(config_, context_length);
  KVCache cache;
  cache.context_length = context_length;
  for (const Layer& layer : layers_)
    cache.layers.push_back(layer.attention->make_cache(context_length));
  return cache;
}

// [excerpt parallel_feed_forward]
Tensor ParallelModel::feed_forward(const Layer& layer, const Tensor& x) const {
  if (layer.mlp) {  // a dense layer: partial sums of my share of the width, added over tp
    Tensor out = layer.mlp->forward(x);  // [T, H]
    all_reduce(*tensor_group_, out);
    return out;
  }
  Tensor shared = layer.shared_expert->forward(x);  // [T, H], my share of the width
  const RouterChoice choice = route_tokens(x, layer.router, config_.num_experts_per_tok);
  Tensor routed = layer.experts->routed(x, choice, experts(plan_, config_).begin);  // mine
  if (plan_.groups_coincide()) {  // the same ranks hold both parts: one all-reduce
    add_into(shared, routed);
    all_reduce(*tensor_group_, shared);
    return shared;
  }
  all_reduce(*tensor_group_, shared);  // over the ranks that split the shared expert
  all_reduce(*expert_group_, routed);  // over the ranks that split the experts
  add_into(shared, routed);
  return shared;
}
// [end excerpt]

// [excerpt parallel_forward]
Tensor ParallelModel::forward(std::span<const std::int32_t> tokens, KVCache& cache,
                              LogitRows logit_rows) const {
  const auto count = static_cast<std::int64_t>(tokens.size());
  if (count == 0) fail("forward: no tokens to process");
  if (tensor_group_->size() != plan_.tensor_parallel ||
      expert_group_->size() != plan_.expert_parallel)
    fail("forward: rank ", plan_.rank, "'s share was built without its tp and ep groups");
  if (cache.next_position() + count > cache.context_length)
    fail("the sequence would reach ", cache.next_position() + count,
         " tokens, past the context length ", cache.context_length, "; raise --ctx");
  const float eps = static_cast<float>(config_.rms_norm_eps);
  Tensor x = embed_tokens(tokens, embedding_);  // [T, H], the same on every rank
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    // My heads' share of the attention output; the tp group adds the shares.
    Tensor attention =
        layer.attention->forward(rms_norm(x, layer.input_norm, eps), cache.layers[l]);
    all_reduce(*tensor_group_, attention);
    add_into(x, attention);
    add_into(x, feed_forward(layer, rms_norm(x, layer.post_attention_norm, eps)));
  }
  const Tensor last = logit_rows == LogitRows::all ? x : x.slice(0, count - 1, count);
  return linear(rms_norm(last, final_norm_, eps), lm_head_);  // [rows, V]
}
// [end excerpt]

std::uint64_t ParallelModel::held_bytes() const {
  return held_bytes_;
}

std::uint64_t ParallelModel::bytes_read_per_token() const {
  const std::uint64_t row = embedding_.nbytes() / static_cast<std::uint64_t>(config_.vocab_size);
  const std::uint64_t experts_read = held_expert_bytes_ *
                                     static_cast<std::uint64_t>(config_.num_experts_per_tok) /
                                     static_cast<std::uint64_t>(config_.num_local_experts);
  const bool tied = lm_head_.raw_data() == embedding_.raw_data();
  return held_bytes_ - held_expert_bytes_ + experts_read - (tied ? 0 : embedding_.nbytes() - row);
}

std::uint64_t ParallelModel::bytes_all_reduced() const {
  return tensor_group_->bytes_sent() + expert_group_->bytes_sent();
}

}  // namespace llama4
