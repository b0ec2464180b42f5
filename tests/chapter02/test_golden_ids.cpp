// Chapter 02: our ids against tiktoken's, configured like Meta's tokenizer.py
// (golden/tokenizer/generate.cjs). Every case is checked four ways: plain, with special tokens
// allowed, with BOS, and decode(encode(text)) == text.
#include <gtest/gtest.h>

#include <string>

#include "common/tokenizer/tiktoken_ranks.hpp"
#include "common/tokenizer/toy_vocabulary.hpp"
#include "tests/chapter02/tokenizer_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using Ids = std::vector<std::int32_t>;

// Checks every case; stops after a few failures so one bug does not print 2,000 messages.
void expect_golden_ids(const Tokenizer& tokenizer, const testing::GoldenSet& golden) {
  ASSERT_EQ(tokenizer.bos_id(), golden.bos_id);
  ASSERT_EQ(tokenizer.eos_id(), golden.eos_id);
  ASSERT_EQ(tokenizer.vocabulary().size(), golden.base_tokens);
  int failures = 0;
  for (const testing::GoldenCase& c : golden.cases) {
    const Ids ids = tokenizer.encode(c.text);
    const Ids special = tokenizer.encode(c.text, {.allow_special = true});
    Ids with_bos = {golden.bos_id};
    with_bos.insert(with_bos.end(), c.ids.begin(), c.ids.end());
    const bool ok = ids == c.ids && special == c.special_ids &&
                    tokenizer.encode(c.text, {.bos = true}) == with_bos &&
                    tokenizer.decode(ids) == c.text && tokenizer.decode(special) == c.text;
    if (!ok) {
      ADD_FAILURE() << c.kind << " case \"" << testing::printable(c.text) << "\": ids "
                    << ::testing::PrintToString(ids).substr(0, 300) << "\n  expected "
                    << ::testing::PrintToString(c.ids).substr(0, 300) << "\n  special "
                    << ::testing::PrintToString(special).substr(0, 300) << "\n  expected "
                    << ::testing::PrintToString(c.special_ids).substr(0, 300);
      if (++failures == 10) return;
    }
  }
}

TEST(GoldenIds, HandMadeVocabularyMatchesTiktoken) {
  const testing::GoldenSet& golden = testing::golden_set("toy-cases.json");
  EXPECT_GE(golden.cases.size(), 2000u);
  expect_golden_ids(testing::toy_tokenizer(), golden);
}

TEST(GoldenIds, MetasVocabularyMatchesTiktoken) {
  LLAMA4_TOKENIZER_OR_SKIP(path);
  const testing::GoldenSet& golden = testing::golden_set("cases.json");
  EXPECT_GE(golden.cases.size(), 2000u);
  expect_golden_ids(testing::real_tokenizer(), golden);
}

// The generator reads golden/tokenizer/toy.tiktoken; it must be the vocabulary the code builds.
TEST(GoldenIds, ToyVocabularyFileIsUpToDate) {
  EXPECT_EQ(testing::read_file(testing::golden_tokenizer_dir() / "toy.tiktoken"),
            format_tiktoken_ranks(toy_vocabulary()))
      << "regenerate it: build/bin/chapter02_tokenizer --write-toy-vocabulary "
         "golden/tokenizer/toy.tiktoken, then rerun golden/tokenizer/generate.cjs";
}

}  // namespace
}  // namespace llama4
