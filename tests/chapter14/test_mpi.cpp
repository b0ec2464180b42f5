// Chapter 14 across processes: run by ctest as `mpirun -np 2` and `mpirun -np 4 --oversubscribe`
// (every rank runs every test; a test that fails on any rank fails the run). The collectives, the
// agreement on errors, and the parallel model against chapter 08's on every split the world size
// allows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/debugging/data_paths.hpp"
#include "common/model/model.hpp"
#include "common/model/sampler.hpp"
#include "common/parallel/data_parallel.hpp"
#include "common/parallel/mpi_communicator.hpp"
#include "common/parallel/parallel_model.hpp"
#include "common/tensors/error.hpp"
#include "common/training/initialization.hpp"
#include "common/training/trainable_model.hpp"
#include "tests/chapter11/toy_training.hpp"

namespace llama4 {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

MpiCommunicator& world() {
  static const std::unique_ptr<MpiCommunicator> communicator = MpiCommunicator::world();
  return *communicator;
}

TEST(MpiCommunicator, AllReduceAllGatherAllToAllAndBroadcast) {
  const int rank = world().rank(), size = world().size();
  std::vector<float> values = {static_cast<float>(rank + 1), 10.0f};
  world().all_reduce_sum(values);
  EXPECT_EQ(values[0], size * (size + 1) / 2);
  EXPECT_EQ(values[1], 10.0f * size);

  const std::vector<float> mine = {static_cast<float>(rank), static_cast<float>(-rank)};
  std::vector<float> all(2 * static_cast<std::size_t>(size));
  world().all_gather(mine, all);
  for (int r = 0; r < size; ++r) {
    EXPECT_EQ(all[2 * r], r);
    EXPECT_EQ(all[2 * r + 1], -r);
  }

  // Block r of my send goes to rank r: it holds 100 * me + r.
  std::vector<float> send(static_cast<std::size_t>(size)), receive(send.size());
  for (int r = 0; r < size; ++r) send[r] = static_cast<float>(100 * rank + r);
  world().all_to_all(send, receive);
  for (int r = 0; r < size; ++r) EXPECT_EQ(receive[r], 100 * r + rank);

  std::string text = rank == size - 1 ? "from the last rank" : "..................";
  world().broadcast(std::as_writable_bytes(std::span(text.data(), text.size())), size - 1);
  EXPECT_EQ(text, "from the last rank");
}

TEST(MpiCommunicator, SplitMakesGroupsOfConsecutiveRanks) {
  const int rank = world().rank();
  const std::unique_ptr<Communicator> pairs = world().split(rank / 2);
  EXPECT_EQ(pairs->size(), 2);
  EXPECT_EQ(pairs->rank(), rank % 2);
  std::vector<float> value = {static_cast<float>(rank)};
  pairs->all_reduce_sum(value);
  EXPECT_EQ(value[0], (rank / 2) * 4 + 1);  // (2g) + (2g + 1)
}

TEST(OnEveryRank, ARankThatFailsAloneStopsEveryRankWithItsMessage) {
  const int rank = world().rank();
  try {
    on_every_rank(world(), [&] {
      if (rank == 1) fail("model-00002-of-00002.safetensors: no such file");
    });
    ADD_FAILURE() << "rank " << rank << " went on";
  } catch (const Error& error) {
    EXPECT_THAT(error.what(), StartsWith("rank 1: model-00002-of-00002.safetensors: no such file"));
  }
  EXPECT_NO_THROW(on_every_rank(world(), [] {}));  // and they still talk afterwards
}

const Model& trained_model() {
  static const Model model = Model::load(trained_model_dir());
  return model;
}

// Every split of the trained model (8 heads, 2 key/value heads, 4 experts, dense and MoE layers)
// that this many ranks allow, against chapter 08's model: logits within 1e-4 of the largest, the
// same greedy tokens, and the all-reduce volume of the formula.
TEST(ParallelModel, EverySplitGivesChapter08sLogitsAndGreedyTokens) {
  const Model& model = trained_model();
  const std::vector<std::int32_t> prompt = {4096, 300, 41, 1020, 77, 12, 900, 5, 6, 7, 8, 9};
  KVCache reference_cache = model.make_cache(64);
  const Tensor expected = model.forward(prompt, reference_cache, LogitRows::all);  // [12, V]
  std::vector<std::int32_t> expected_tokens;
  std::int32_t next = argmax({expected.data<float>() + (prompt.size() - 1) * expected.dim(1),
                              static_cast<std::size_t>(expected.dim(1))});
  for (int i = 0; i < 12; ++i) {
    expected_tokens.push_back(next);
    const Tensor logits = model.forward({&next, 1}, reference_cache, LogitRows::last);
    next = argmax({logits.data<float>(), static_cast<std::size_t>(logits.dim(1))});
  }

  const int size = world().size();
  int splits = 0;
  for (const int tp : {1, 2, 4}) {
    for (const int ep : {1, 2, 4}) {
      if (size % tp != 0 || size % ep != 0 || tp > 2) continue;
      ++splits;
      SCOPED_TRACE("tp " + std::to_string(tp) + ", ep " + std::to_string(ep));
      const ParallelPlan plan = make_parallel_plan(model.config(), size, world().rank(), tp, ep);
      ParallelModel parallel(model.config(), model.checkpoint(), plan, split_groups(world(), plan));
      KVCache cache = parallel.make_cache(64);
      const Tensor got = parallel.forward(prompt, cache, LogitRows::all);
      float largest = 0, difference = 0;
      for (std::int64_t i = 0; i < got.numel(); ++i) {
        largest = std::max(largest, std::abs(expected.data<float>()[i]));
        difference =
            std::max(difference, std::abs(got.data<float>()[i] - expected.data<float>()[i]));
      }
      EXPECT_LE(difference, 1e-4f * largest);
      std::vector<std::int32_t> tokens;
      std::int32_t token = argmax({got.data<float>() + (prompt.size() - 1) * got.dim(1),
                                   static_cast<std::size_t>(got.dim(1))});
      const std::uint64_t reduced_before = parallel.bytes_all_reduced();
      for (int i = 0; i < 12; ++i) {
        tokens.push_back(token);
        const Tensor logits = parallel.forward({&token, 1}, cache, LogitRows::last);
        token = argmax({logits.data<float>(), static_cast<std::size_t>(logits.dim(1))});
      }
      EXPECT_EQ(tokens, expected_tokens);
      EXPECT_EQ((parallel.bytes_all_reduced() - reduced_before) / 12,
                all_reduce_bytes_per_token(plan, model.config()));
    }
  }
  EXPECT_GE(splits, 3);
}

// Data parallelism: each rank's share of a batch, the gradients averaged over the ranks (in small
// buckets, to cross bucket boundaries), against one process on the whole batch.
TEST(DataParallel, AveragedGradientsEqualTheWholeBatchs) {
  const int size = world().size();
  const std::int64_t sequences = 2 * size, tokens = 16;
  TrainableModel model(parse_model_config(testing::kToyConfig, "toy config"));
  initialise_weights(model, 3);
  std::vector<std::int32_t> batch;  // [B, T + 1], the same on every rank
  for (std::int64_t i = 0; i < sequences * (tokens + 1); ++i)
    batch.push_back(static_cast<std::int32_t>((i * 7919) % 367));

  const double whole_loss = model.forward_backward(batch, sequences);
  const std::vector<float> whole(model.parameters().gradients().begin(),
                                 model.parameters().gradients().end());
  const double my_loss =
      model.forward_backward(sequences_of_rank(batch, sequences, world()), sequences / size);
  const double loss =
      average_over_ranks(world(), model.parameters().gradients(), my_loss, /*bucket=*/1000);
  EXPECT_NEAR(loss, whole_loss, 1e-5 * whole_loss);
  const std::span<const float> averaged = model.parameters().gradients();
  float largest = 0, difference = 0;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    largest = std::max(largest, std::abs(whole[i]));
    difference = std::max(difference, std::abs(averaged[i] - whole[i]));
  }
  EXPECT_GT(largest, 0.0f);
  EXPECT_LE(difference, 1e-5f * largest);
  EXPECT_THAT([&] { sequences_of_rank(batch, sequences + 1, world()); },
              ::testing::ThrowsMessage<Error>(HasSubstr("cannot be divided evenly over")));
}

}  // namespace
}  // namespace llama4

int main(int argc, char** argv) {
  llama4::MpiRuntime mpi(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
