// Checkpoint: the golden tiny model, single-file and sharded, and broken checkpoint directories.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "common/debugging/data_paths.hpp"
#include "common/tensors/checkpoint.hpp"
#include "common/tensors/error.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::TemporaryDirectory;
using testing::write_file;

TEST(Checkpoint, GoldenTinyModelOpens) {
  const Checkpoint checkpoint = Checkpoint::open(golden_model_dir("tiny"));
  EXPECT_EQ(checkpoint.file_count(), 1u);
  const Tensor embedding = checkpoint.tensor("language_model.model.embed_tokens.weight");
  EXPECT_EQ(embedding.dtype(), DType::BF16);
  EXPECT_EQ(embedding.shape(), (Shape{512, 64}));
  const Tensor experts =
      checkpoint.tensor("language_model.model.layers.1.feed_forward.experts.gate_up_proj");
  EXPECT_EQ(experts.shape(), (Shape{4, 64, 64}));  // [E, H, 2I]
}

TEST(Checkpoint, ShardedAndSingleFileHoldTheSameBytes) {
  const Checkpoint single = Checkpoint::open(golden_model_dir("tiny"));
  const Checkpoint sharded = Checkpoint::open(golden_model_dir("tiny-sharded"));
  EXPECT_EQ(sharded.file_count(), 2u);
  ASSERT_EQ(single.names(), sharded.names());
  for (const std::string& name : single.names()) {
    const Tensor a = single.tensor(name);
    const Tensor b = sharded.tensor(name);
    ASSERT_EQ(a.shape(), b.shape()) << name;
    ASSERT_EQ(a.dtype(), b.dtype()) << name;
    ASSERT_EQ(std::memcmp(a.raw_data(), b.raw_data(), a.nbytes()), 0) << name;
  }
  EXPECT_EQ(single.total_bytes(), sharded.total_bytes());
}

TEST(Checkpoint, OpensASingleFileDirectly) {
  const Checkpoint checkpoint = Checkpoint::open(golden_model_dir("tiny") / "model.safetensors");
  EXPECT_TRUE(checkpoint.contains("language_model.lm_head.weight"));
}

TEST(Checkpoint, MissingTensorNamesTheCheckpoint) {
  const Checkpoint checkpoint = Checkpoint::open(golden_model_dir("tiny"));
  EXPECT_THAT([&] { checkpoint.tensor("model.layers.99.mlp.weight"); },
              ::testing::ThrowsMessage<Error>(
                  AllOf(HasSubstr("tiny"), HasSubstr("model.layers.99.mlp.weight"))));
}

// A copy of the sharded golden checkpoint that a test can break.
class BrokenCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& file : std::filesystem::directory_iterator(golden_model_dir("tiny-sharded"))) {
      std::filesystem::copy_file(file.path(), directory_ / file.path().filename().string());
    }
  }
  std::filesystem::path index() const { return directory_ / "model.safetensors.index.json"; }
  TemporaryDirectory directory_;
};

TEST_F(BrokenCheckpoint, CopyOpens) {
  EXPECT_EQ(Checkpoint::open(directory_.path()).file_count(), 2u);
}

TEST_F(BrokenCheckpoint, MissingShard) {
  std::filesystem::remove(directory_ / "model-00002-of-00002.safetensors");
  EXPECT_THAT([&] { Checkpoint::open(directory_.path()); },
              ::testing::ThrowsMessage<Error>(
                  AllOf(HasSubstr("model-00002-of-00002.safetensors"), HasSubstr("missing"))));
}

TEST_F(BrokenCheckpoint, IndexNamesATensorTheShardLacks) {
  write_file(
      index(),
      R"({"metadata": {}, "weight_map": {"model.ghost.weight": "model-00001-of-00002.safetensors"}})");
  EXPECT_THAT([&] { Checkpoint::open(directory_.path()); },
              ::testing::ThrowsMessage<Error>(
                  AllOf(HasSubstr("model.ghost.weight"), HasSubstr("no such tensor"))));
}

TEST_F(BrokenCheckpoint, IndexPointsOutsideTheDirectory) {
  write_file(index(), R"({"weight_map": {"w": "../../etc/passwd"}})");
  EXPECT_THAT(
      [&] { Checkpoint::open(directory_.path()); },
      ::testing::ThrowsMessage<Error>(HasSubstr("not a file name in the checkpoint directory")));
}

TEST_F(BrokenCheckpoint, IndexIsNotJson) {
  write_file(index(), R"({"weight_map": {"w": )");
  EXPECT_THAT([&] { Checkpoint::open(directory_.path()); },
              ::testing::ThrowsMessage<Error>(
                  AllOf(HasSubstr("model.safetensors.index.json"), HasSubstr("not valid JSON"))));
}

TEST_F(BrokenCheckpoint, IndexWithoutWeightMap) {
  write_file(index(), R"({"metadata": {"total_size": 1}})");
  EXPECT_THAT([&] { Checkpoint::open(directory_.path()); },
              ::testing::ThrowsMessage<Error>(HasSubstr("no \"weight_map\"")));
}

TEST_F(BrokenCheckpoint, TruncatedShard) {
  const auto shard = directory_ / "model-00001-of-00002.safetensors";
  std::filesystem::resize_file(shard, std::filesystem::file_size(shard) / 2);
  EXPECT_THAT([&] { Checkpoint::open(directory_.path()); },
              ::testing::ThrowsMessage<Error>(HasSubstr("model-00001-of-00002.safetensors")));
}

TEST(Checkpoint, EmptyDirectory) {
  TemporaryDirectory directory;
  EXPECT_THAT([&] { Checkpoint::open(directory.path()); },
              ::testing::ThrowsMessage<Error>(
                  HasSubstr("has neither model.safetensors nor model.safetensors.index.json")));
}

TEST(Checkpoint, MissingDirectory) {
  EXPECT_THAT([&] { Checkpoint::open("/nonexistent/llama4"); },
              ::testing::ThrowsMessage<Error>(HasSubstr("does not exist")));
}

}  // namespace
}  // namespace llama4
