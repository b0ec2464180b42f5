#include "common/parallel/parallel_plan.hpp"

#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

bool has_dense_layers(const ModelConfig& config) {
  for (std::int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
    if (!config.layer(layer).is_moe) return true;
  }
  return false;
}

IndexRange part(std::int64_t total, int parts, int index) {
  const std::int64_t each = total / parts;
  return {each * index, each * (index + 1)};
}

}  // namespace

ParallelPlan make_parallel_plan(const ModelConfig& config, int ranks, int rank, int tp, int ep) {
  if (ranks < 1 || rank < 0 || rank >= ranks) fail("rank ", rank, " of ", ranks, " ranks");
  if (tp < 1 || ep < 1) fail("--tp and --ep must be at least 1, got ", tp, " and ", ep);
  if (ranks % tp != 0) fail("--tp ", tp, " does not divide the ", ranks, " ranks");
  if (ranks % ep != 0) fail("--ep ", ep, " does not divide the ", ranks, " ranks");
  if (config.num_attention_heads % tp != 0)
    fail("--tp ", tp, ": the ", config.num_attention_heads,
         " attention heads cannot be divided evenly over ", tp, " ranks");
  if (config.num_key_value_heads % tp != 0)
    fail("--tp ", tp, ": the ", config.num_key_value_heads,
         " key/value heads cannot be divided evenly over ", tp,
         " ranks (each rank keeps whole GQA groups)");
  if (config.intermediate_size % tp != 0)
    fail("--tp ", tp, ": the shared expert's width ", config.intermediate_size,
         " cannot be divided evenly over ", tp, " ranks");
  if (has_dense_layers(config) && config.intermediate_size_mlp % tp != 0)
    fail("--tp ", tp, ": the dense MLP's width ", config.intermediate_size_mlp,
         " cannot be divided evenly over ", tp, " ranks");
  if (!config.moe_layers.empty() && config.num_local_experts % ep != 0)
    fail("--ep ", ep, ": the ", config.num_local_experts, " experts cannot be divided evenly over ",
         ep, " ranks");
  return {ranks, rank, tp, ep};
}

IndexRange query_heads(const ParallelPlan& plan, const ModelConfig& config) {
  return part(config.num_attention_heads, plan.tensor_parallel, plan.tp_rank());
}

IndexRange key_value_heads(const ParallelPlan& plan, const ModelConfig& config) {
  return part(config.num_key_value_heads, plan.tensor_parallel, plan.tp_rank());
}

IndexRange mlp_columns(const ParallelPlan& plan, std::int64_t width) {
  return part(width, plan.tensor_parallel, plan.tp_rank());
}

IndexRange experts(const ParallelPlan& plan, const ModelConfig& config) {
  return part(config.num_local_experts, plan.expert_parallel, plan.ep_rank());
}

std::uint64_t all_reduce_bytes_per_token(const ParallelPlan& plan, const ModelConfig& config) {
  const std::uint64_t row = static_cast<std::uint64_t>(config.hidden_size) * sizeof(float);
  const bool tp = plan.tensor_parallel > 1, ep = plan.expert_parallel > 1;
  std::uint64_t bytes = 0;
  for (std::int64_t layer = 0; layer < config.num_hidden_layers; ++layer) {
    if (tp) bytes += row;  // attention
    if (!config.layer(layer).is_moe) {
      if (tp) bytes += row;  // dense MLP
    } else if (tp && ep && plan.groups_coincide()) {
      bytes += row;  // shared + routed experts together
    } else {
      bytes += (tp ? row : 0) + (ep ? row : 0);
    }
  }
  return bytes;
}

}  // namespace llama4
