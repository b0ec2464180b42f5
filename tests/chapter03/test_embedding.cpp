// Chapter 03: token embedding against the golden data.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/layers/embedding.hpp"
#include "common/tensors/error.hpp"
#include "tests/support/golden_model.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using testing::golden_model;
using testing::matches_golden;

class Embedding : public ::testing::TestWithParam<const char*> {};

TEST_P(Embedding, MatchesGoldenExactly) {
  const auto& model = golden_model(GetParam());
  const Tensor table = model.checkpoint.tensor(model.names.embedding());
  for (const char* case_name : {"full", "decode"}) {
    const Tensor x = embed_tokens(model.tokens(case_name), table);
    EXPECT_TRUE(matches_golden(x, model.golden(case_name, "embedding"), tolerance::kExact))
        << case_name;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Embedding, ::testing::Values("tiny", "tiny-maverick"));

TEST(Embedding, OffsetCaseToo) {
  const auto& model = golden_model("tiny");
  const Tensor x =
      embed_tokens(model.tokens("offset"), model.checkpoint.tensor(model.names.embedding()));
  EXPECT_TRUE(matches_golden(x, model.golden("offset", "embedding"), tolerance::kExact));
}

TEST(Embedding, EachRowIsTheTableRowWidenedFromBf16) {
  const auto& model = golden_model("tiny");
  const Tensor table = model.checkpoint.tensor(model.names.embedding());
  const std::vector<std::int32_t> ids = {0, 511, 7, 7};
  const Tensor x = embed_tokens(ids, table);
  for (std::size_t t = 0; t < ids.size(); ++t) {
    for (std::int64_t i = 0; i < table.dim(1); ++i) {
      ASSERT_EQ(x.at({static_cast<std::int64_t>(t), i}), table.at({ids[t], i}));
    }
  }
}

TEST(Embedding, IdOutsideTheVocabularyIsAnError) {
  const auto& model = golden_model("tiny");
  const Tensor table = model.checkpoint.tensor(model.names.embedding());
  EXPECT_THAT(
      [&] {
        embed_tokens(std::vector<std::int32_t>{5, 512}, table);
      },
      ::testing::ThrowsMessage<Error>(
          ::testing::HasSubstr("token id 512 at position 1 is outside the vocabulary (512 rows)")));
  EXPECT_THAT([&] { embed_tokens(std::vector<std::int32_t>{-3}, table); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("token id -3 at position 0")));
}

TEST(Embedding, EmptySequenceGivesNoRows) {
  const auto& model = golden_model("tiny");
  const Tensor x =
      embed_tokens(std::vector<std::int32_t>{}, model.checkpoint.tensor(model.names.embedding()));
  EXPECT_EQ(x.shape(), (Shape{0, 64}));
}

}  // namespace
}  // namespace llama4
