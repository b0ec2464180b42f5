// Chapter 02: byte-pair merging by rank, tiktoken's algorithm.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/tokenizer/byte_pair_encoding.hpp"
#include "common/tokenizer/toy_vocabulary.hpp"
#include "tests/chapter02/tokenizer_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

std::vector<std::string> token_texts(const TokenVocabulary& vocabulary, std::string_view piece) {
  std::vector<std::int32_t> ids;
  byte_pair_encode(vocabulary, piece, ids);
  std::vector<std::string> texts;
  for (const std::int32_t id : ids) texts.emplace_back(vocabulary.bytes(id));
  return texts;
}

TEST(BytePairEncoding, MergesTheLowestRankFirst) {
  const TokenVocabulary vocabulary = toy_vocabulary();
  // " lower": "er" (rank 259) was learned first, so it merges first; then "lo" (learned before
  // " l"), " " + "lo", " lo" + "w", and finally " low" + "er" = " lower".
  const std::vector<MergeStep> steps = byte_pair_merge_steps(vocabulary, " lower");
  ASSERT_EQ(steps.size(), 5u);
  EXPECT_EQ(steps[0].left + "+" + steps[0].right, "e+r");
  EXPECT_EQ(steps[0].rank, vocabulary.find("er"));
  EXPECT_EQ(steps[1].left + "+" + steps[1].right, "l+o");
  EXPECT_EQ(steps[2].left + "+" + steps[2].right, " +lo");
  EXPECT_EQ(steps[3].left + "+" + steps[3].right, " lo+w");
  EXPECT_EQ(steps[4].left + "+" + steps[4].right, " low+er");
  EXPECT_EQ(token_texts(vocabulary, " lower"), std::vector<std::string>({" lower"}));
  for (std::size_t i = 1; i < steps.size(); ++i) EXPECT_LT(steps[i - 1].rank, steps[i].rank);
}

TEST(BytePairEncoding, EqualRanksMergeLeftmostFirst) {
  const TokenVocabulary vocabulary = toy_vocabulary();
  // "aa" can be made at positions 0, 1 and 2 of "aaaa": the leftmost wins, then "aa" again
  // ("aa" + "a" = "aaa" is also a token, but a later one).
  EXPECT_EQ(token_texts(vocabulary, "aaaa"), std::vector<std::string>({"aa", "aa"}));
  EXPECT_EQ(token_texts(vocabulary, "aaaaa"), std::vector<std::string>({"aa", "aaa"}));
}

TEST(BytePairEncoding, StopsWhenNoNeighboursFormAToken) {
  const TokenVocabulary vocabulary = toy_vocabulary();
  EXPECT_EQ(token_texts(vocabulary, "xyz"), std::vector<std::string>({"x", "y", "z"}));
  EXPECT_EQ(token_texts(vocabulary, "q"), std::vector<std::string>({"q"}));
  EXPECT_EQ(token_texts(vocabulary, "\xF0\x9F\x99\x82"),
            std::vector<std::string>({"\xF0\x9F", "\x99", "\x82"}));
}

// Merging looks at bytes, not at a merge list: the toy vocabulary learned " the" as " t" + "he",
// but in " the" the pair "th" merges first, then "the", and " " + "the" still makes " the".
TEST(BytePairEncoding, MergesByConcatenatedBytes) {
  const TokenVocabulary vocabulary = toy_vocabulary();
  EXPECT_EQ(token_texts(vocabulary, "the"), std::vector<std::string>({"the"}));
  EXPECT_EQ(token_texts(vocabulary, " the"), std::vector<std::string>({" the"}));
}

std::string random_piece(std::mt19937& generator, const std::string& alphabet, std::size_t length) {
  std::string piece;
  for (std::size_t i = 0; i < length; ++i) piece += alphabet[generator() % alphabet.size()];
  return piece;
}

TEST(BytePairEncoding, HeapAndScanAgreeOnTheToyVocabulary) {
  const TokenVocabulary vocabulary = toy_vocabulary();
  std::mt19937 generator(5);
  for (int trial = 0; trial < 3000; ++trial) {
    const std::string piece = random_piece(generator, "aaa thelowerings\n", 2 + generator() % 60);
    ASSERT_EQ(byte_pair_merge_with_heap(vocabulary, piece),
              byte_pair_merge_by_scanning(vocabulary, piece))
        << testing::printable(piece);
  }
}

TEST(BytePairEncoding, HeapAndScanAgreeOnMetasVocabulary) {
  LLAMA4_TOKENIZER_OR_SKIP(path);
  const TokenVocabulary& vocabulary = testing::real_tokenizer().vocabulary();
  std::mt19937 generator(9);
  const std::string alphabets[] = {"     ",      "aaaaab",   "abcdefghij ",
                                   "0123456789", "=-=-==--", "\n\n\t "};
  for (int trial = 0; trial < 2000; ++trial) {
    const std::string piece = random_piece(generator, alphabets[trial % 6], 2 + generator() % 400);
    ASSERT_EQ(byte_pair_merge_with_heap(vocabulary, piece),
              byte_pair_merge_by_scanning(vocabulary, piece))
        << testing::printable(piece);
  }
  // A long run, as Meta's 25,000-character cut allows (the scan is quadratic; keep it moderate).
  const std::string spaces(3000, ' ');
  EXPECT_EQ(byte_pair_merge_with_heap(vocabulary, spaces),
            byte_pair_merge_by_scanning(vocabulary, spaces));
}

}  // namespace
}  // namespace llama4
