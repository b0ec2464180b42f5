// The Llama 4 model split over the ranks of a parallel run (chapter 14): tensor parallel attention
// and dense/shared MLPs, expert parallel routed experts (parallel_plan.hpp says who holds what).
//
//   x ── embed ─┬─ norm ── attention(my heads) ── all-reduce(tp) ──(+)─┬─ norm ─┬─ shared(my width)
//   ─┐
//               │                                                      │        └─ router ── my
//               experts ┤ └──────────────────────────────────────────────────────┘  all-reduce(tp /
//               ep) ──(+)── ...
//
// Each rank holds only its slices of the split matrices (views of the memory-mapped checkpoint
// for row slices, copies for column slices), and the whole of the small replicated ones
// (embedding, norms, router, LM head). After every all-reduce each rank holds the whole residual
// stream, so every rank computes the same logits; rank 0 prints them.
//
// The forward pass is the single-process one (common/model/model.cpp) with the collectives added;
// it equals it up to the order in which the partial sums are added (tests/chapter14).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "common/layers/attention.hpp"
#include "common/layers/feed_forward.hpp"
#include "common/layers/moe.hpp"
#include "common/model/model.hpp"
#include "common/parallel/communicator.hpp"
#include "common/parallel/parallel_plan.hpp"
#include "common/tensors/checkpoint.hpp"

namespace llama4 {

// The communicators of a rank's tp group and ep group.
struct ParallelGroups {
  std::unique_ptr<Communicator> tensor_parallel;
  std::unique_ptr<Communicator> expert_parallel;
};

// Splits `world` (every rank of the run) into the groups of `plan`. Every rank must call it.
ParallelGroups split_groups(Communicator& world, const ParallelPlan& plan);

class ParallelModel {
 public:
  // Loads rank plan.rank's share of `checkpoint`, talking to its tp and ep groups through
  // `groups` (split_groups). No collective is called while loading, so a rank that fails to load
  // (on_every_rank) cannot leave the others waiting in one. Groups of one process
  // (SingleProcessCommunicator) build any rank's share in one process, to see what it holds;
  // such a model refuses to run.
  ParallelModel(const ModelConfig& config, const Checkpoint& checkpoint, const ParallelPlan& plan,
                ParallelGroups groups);

  const ModelConfig& config() const { return config_; }
  const ParallelPlan& plan() const { return plan_; }

  // A KV cache of this rank's key/value heads.
  KVCache make_cache(std::int64_t context_length) const;

  // Model::forward, on every rank together: the same tokens on every rank, the same logits back.
  Tensor forward(std::span<const std::int32_t> tokens, KVCache& cache, LogitRows rows) const;

  // The bytes of the weights this rank holds (its slices plus the replicated tensors).
  std::uint64_t held_bytes() const;
  // The bytes of them one decode step reads, on average: all but the embedding (one row) and the
  // experts (top_k of all E, so top_k / E of the ones held here).
  std::uint64_t bytes_read_per_token() const;
  // The bytes all-reduced so far by this rank (tp and ep groups).
  std::uint64_t bytes_all_reduced() const;

 private:
  struct Layer {
    Tensor input_norm, post_attention_norm;    // [H]
    std::optional<AttentionLayer> attention;   // my heads; o_proj my columns
    std::optional<FeedForward> mlp;            // dense layers: my share of the width
    std::optional<FeedForward> shared_expert;  // MoE layers: my share of the width
    Tensor router;                             // [E, H], every expert (routing is replicated)
    std::optional<MoeLayer> experts;           // MoE layers: my experts, whole
  };

  Tensor feed_forward(const Layer& layer, const Tensor& x) const;  // [T, H] -> [T, H], reduced

  ModelConfig config_;
  ParallelPlan plan_;
  std::unique_ptr<Communicator> tensor_group_, expert_group_;
  std::vector<float> inverse_frequencies_;
  Tensor embedding_;  // [V, H]
  std::vector<Layer> layers_;
  Tensor final_norm_;  // [H]
  Tensor lm_head_;     // [V, H]
  std::uint64_t held_bytes_ = 0;
  std::uint64_t held_expert_bytes_ = 0;  // of held_bytes_, the routed experts
};

}  // namespace llama4
