// Chapter 14 without MPI: how a model is split (parallel_plan.hpp), what each rank holds, and the
// parallel model on one rank against chapter 08's model.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/debugging/data_paths.hpp"
#include "common/model/model.hpp"
#include "common/parallel/parallel_model.hpp"
#include "common/parallel/parallel_plan.hpp"
#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

const Model& trained_model() {
  static const Model model = Model::load(trained_model_dir());
  return model;
}

ParallelGroups one_process_groups() {
  return {std::make_unique<SingleProcessCommunicator>(),
          std::make_unique<SingleProcessCommunicator>()};
}

TEST(ParallelPlan, ASplitTheShapesCannotTakeIsAnErrorSayingWhy) {
  const ModelConfig& config = trained_model().config();  // 8 heads, 2 key/value heads, 4 experts
  const auto plan = [&](int ranks, int tp, int ep) {
    return [=, &config] { make_parallel_plan(config, ranks, 0, tp, ep); };
  };
  EXPECT_THAT(plan(3, 3, 1), ThrowsMessage<Error>(HasSubstr(
                                 "--tp 3: the 8 attention heads cannot be divided evenly over 3")));
  EXPECT_THAT(plan(4, 4, 1), ThrowsMessage<Error>(HasSubstr(
                                 "--tp 4: the 2 key/value heads cannot be divided evenly over 4 "
                                 "ranks (each rank keeps whole GQA groups)")));
  EXPECT_THAT(plan(8, 1, 8),
              ThrowsMessage<Error>(HasSubstr("--ep 8: the 4 experts cannot be divided evenly")));
  EXPECT_THAT(plan(2, 4, 1), ThrowsMessage<Error>(HasSubstr("--tp 4 does not divide the 2 ranks")));
  EXPECT_THAT(plan(4, 2, 3), ThrowsMessage<Error>(HasSubstr("--ep 3 does not divide the 4 ranks")));
  EXPECT_THAT(plan(2, 0, 1), ThrowsMessage<Error>(HasSubstr("at least 1")));
  EXPECT_NO_THROW(plan(4, 2, 4)());
}

TEST(ParallelPlan, RanksAreGroupedConsecutivelyAndEachHoldsItsPart) {
  const ModelConfig& config = trained_model().config();
  const ParallelPlan plan = make_parallel_plan(config, 4, 3, 2, 4);  // rank 3 of 4, tp 2, ep 4
  EXPECT_EQ(plan.tp_rank(), 1);
  EXPECT_EQ(plan.tp_group(), 1);
  EXPECT_EQ(plan.ep_rank(), 3);
  EXPECT_EQ(plan.ep_group(), 0);
  EXPECT_EQ(query_heads(plan, config).begin, 4);
  EXPECT_EQ(query_heads(plan, config).end, 8);
  EXPECT_EQ(key_value_heads(plan, config).begin, 1);
  EXPECT_EQ(key_value_heads(plan, config).end, 2);
  EXPECT_EQ(mlp_columns(plan, 512).begin, 256);
  EXPECT_EQ(experts(plan, config).begin, 3);
  EXPECT_EQ(experts(plan, config).end, 4);
}

TEST(ParallelPlan, AllReduceBytesPerTokenFollowTheFormula) {
  const ModelConfig& config =
      trained_model().config();  // H 256: 1 KiB a row; 2 dense, 2 MoE layers
  const auto bytes = [&](int ranks, int tp, int ep) {
    return all_reduce_bytes_per_token(make_parallel_plan(config, ranks, 0, tp, ep), config);
  };
  EXPECT_EQ(bytes(1, 1, 1), 0u);
  EXPECT_EQ(bytes(2, 2, 1), 4u * 2 * 1024);        // attention + MLP or shared expert, each layer
  EXPECT_EQ(bytes(2, 1, 2), 2u * 1024);            // the routed experts of the 2 MoE layers
  EXPECT_EQ(bytes(2, 2, 2), 4u * 2 * 1024);        // same groups: shared + routed in one
  EXPECT_EQ(bytes(4, 2, 4), (4u * 2 + 2) * 1024);  // different groups: one more per MoE layer
}

// The weights' bytes of rank `rank`'s share, built in one process.
std::uint64_t held_bytes(int ranks, int rank, int tp, int ep) {
  const Model& model = trained_model();
  const ParallelPlan plan = make_parallel_plan(model.config(), ranks, rank, tp, ep);
  return ParallelModel(model.config(), model.checkpoint(), plan, one_process_groups()).held_bytes();
}

TEST(ParallelModel, EachRankHoldsItsShareOfTheSplitWeights) {
  const Model& model = trained_model();
  const Checkpoint& checkpoint = model.checkpoint();
  // Sort every tensor of the checkpoint by how it is split.
  std::uint64_t tensor_split = 0, expert_split = 0, replicated = 0;
  for (const std::string& name : checkpoint.names()) {
    const std::uint64_t bytes = checkpoint.tensor(name).nbytes();
    const bool experts = name.find("feed_forward.experts.") != std::string::npos;
    const bool matrix = name.find("self_attn.") != std::string::npos ||
                        name.find("proj.weight") != std::string::npos;
    (experts ? expert_split : matrix ? tensor_split : replicated) += bytes;
  }
  EXPECT_EQ(held_bytes(1, 0, 1, 1), checkpoint.total_bytes());
  for (int rank = 0; rank < 4; ++rank) {
    EXPECT_EQ(held_bytes(4, rank, 2, 4), replicated + tensor_split / 2 + expert_split / 4) << rank;
    EXPECT_EQ(held_bytes(4, rank, 1, 2), replicated + tensor_split + expert_split / 2) << rank;
  }
}

TEST(ParallelModel, OneRankReadsPerTokenWhatChapter08sModelReads) {
  const Model& model = trained_model();
  const ParallelModel one(model.config(), model.checkpoint(),
                          make_parallel_plan(model.config(), 1, 0, 1, 1), one_process_groups());
  EXPECT_EQ(one.bytes_read_per_token(), model.bytes_read_per_token());
}

TEST(ParallelModel, OneRankComputesExactlyChapter08sLogits) {
  const Model& model = trained_model();
  const std::vector<std::int32_t> tokens = {4096, 300, 41, 1020, 77, 12, 900, 5, 6, 7};
  ParallelModel parallel(model.config(), model.checkpoint(),
                         make_parallel_plan(model.config(), 1, 0, 1, 1), one_process_groups());
  KVCache cache = parallel.make_cache(64), reference_cache = model.make_cache(64);
  const Tensor got = parallel.forward(tokens, cache, LogitRows::all);
  const Tensor expected = model.forward(tokens, reference_cache, LogitRows::all);
  ASSERT_EQ(got.shape(), expected.shape());
  for (std::int64_t i = 0; i < got.numel(); ++i)
    ASSERT_EQ(got.data<float>()[i], expected.data<float>()[i]) << i;
  // And through the cache, one token at a time.
  const std::int32_t next = 33;
  const Tensor decoded = parallel.forward({&next, 1}, cache, LogitRows::last);
  const Tensor decoded_expected = model.forward({&next, 1}, reference_cache, LogitRows::last);
  for (std::int64_t i = 0; i < decoded.numel(); ++i)
    ASSERT_EQ(decoded.data<float>()[i], decoded_expected.data<float>()[i]) << i;
}

TEST(ParallelModel, AShareBuiltWithoutItsGroupsRefusesToRun) {
  const Model& model = trained_model();
  ParallelModel share(model.config(), model.checkpoint(),
                      make_parallel_plan(model.config(), 2, 1, 2, 1), one_process_groups());
  KVCache cache = share.make_cache(16);
  const std::vector<std::int32_t> tokens = {4096, 5};
  EXPECT_THAT(
      [&] { share.forward(tokens, cache, LogitRows::all); },
      ThrowsMessage<Error>(HasSubstr("rank 1's share was built without its tp and ep groups")));
}

TEST(Communicator, OneProcessLeavesTheDataAsItIsAndPassesErrorsOn) {
  SingleProcessCommunicator one;
  std::vector<float> values = {1, 2, 3}, all(3);
  one.all_reduce_sum(values);
  EXPECT_EQ(values, (std::vector<float>{1, 2, 3}));
  one.all_gather(values, all);
  EXPECT_EQ(all, values);
  EXPECT_THAT([&] { on_every_rank(one, [] { fail("shard 3 is missing"); }); },
              ThrowsMessage<Error>(HasSubstr("shard 3 is missing")));
  EXPECT_NO_THROW(on_every_rank(one, [] {}));
}

}  // namespace
}  // namespace llama4
