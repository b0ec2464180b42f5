// How a model is split over the ranks of a run (chapter 14).
//
// Tensor parallelism (tp), Megatron's split, for attention and the dense and shared MLPs: each of a
// group of tp ranks holds 1/tp of every such matrix.
//   q, k, v projections, gate and up    split by ROWS (output features): "column-parallel", each
//                                       rank computes its own heads / its share of the width,
//                                       with no communication
//   o projection, down projection       split by COLUMNS (input features): "row-parallel", each
//                                       rank multiplies its share and gets a PARTIAL sum of the
//                                       whole output; one all-reduce adds the tp partials.
// Attention heads are divided whole (heads / tp each), and so are key/value heads: a rank's query
// heads are exactly the ones that read its key/value heads (GQA groups stay on one rank).
//
// Expert parallelism (ep) for the routed experts: each of a group of ep ranks owns experts / ep
// whole experts. Every rank routes every token (the router is small and replicated); a rank runs
// only the experts it owns on the tokens routed to them, and one all-reduce adds the ranks' parts.
//
// Ranks are grouped consecutively: tp group g is ranks g·tp .. g·tp + tp - 1, and likewise for ep.
// With --tp 2 --ep 4 on 4 ranks, ranks 0 and 2 hold the same attention heads (two tp groups) and
// each rank holds a quarter of the experts. Every rank ends each layer with the whole residual
// stream, so embedding, norms, router and LM head are computed everywhere alike.
#pragma once

#include <cstdint>

#include "common/tensors/model_config.hpp"

namespace llama4 {

struct ParallelPlan {
  int ranks = 1;
  int rank = 0;
  int tensor_parallel = 1;  // tp
  int expert_parallel = 1;  // ep

  int tp_rank() const { return rank % tensor_parallel; }
  int tp_group() const { return rank / tensor_parallel; }
  int ep_rank() const { return rank % expert_parallel; }
  int ep_group() const { return rank / expert_parallel; }
  // The tp and ep groups are the same ranks: one all-reduce serves the shared and routed experts.
  bool groups_coincide() const { return tensor_parallel == expert_parallel; }
};

// [begin, end) of something divided into equal parts.
struct IndexRange {
  std::int64_t begin = 0, end = 0;
  std::int64_t size() const { return end - begin; }
};

// Checks that `config` can be split this way and returns the plan of rank `rank`. An Error says
// what cannot be divided (heads, key/value heads, MLP widths, experts, the ranks themselves),
// before anything is loaded.
ParallelPlan make_parallel_plan(const ModelConfig& config, int ranks, int rank, int tp, int ep);

// What rank plan.rank holds.
IndexRange query_heads(const ParallelPlan& plan, const ModelConfig& config);
IndexRange key_value_heads(const ParallelPlan& plan, const ModelConfig& config);
IndexRange mlp_columns(const ParallelPlan& plan, std::int64_t width);  // of a width-I MLP
IndexRange experts(const ParallelPlan& plan, const ModelConfig& config);

// The bytes one rank gives to all-reduces per token, by the formula (f32 activations of width H):
// per layer, H·4 after attention if tp > 1; after a dense MLP, H·4 if tp > 1; after an MoE layer,
// H·4 if tp > 1 (shared expert) plus H·4 if ep > 1 (routed experts), once only when the two
// groups coincide.
std::uint64_t all_reduce_bytes_per_token(const ParallelPlan& plan, const ModelConfig& config);

}  // namespace llama4
