// Chapter 02: loading Meta's tokenizer.model (tiktoken format), and refusing broken ones.
#include <gtest/gtest.h>

#include <string>

#include "common/tensors/error.hpp"
#include "common/tokenizer/base64.hpp"
#include "common/tokenizer/tiktoken_ranks.hpp"
#include "common/tokenizer/toy_vocabulary.hpp"
#include "tests/chapter02/tokenizer_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

// The 256 single bytes as a tiktoken file, ranks 0..255 in byte order, plus `extra` lines.
std::string byte_ranks(const std::string& extra = "") {
  std::string text;
  for (int byte = 0; byte < 256; ++byte) {
    text +=
        encode_base64(std::string(1, static_cast<char>(byte))) + " " + std::to_string(byte) + "\n";
  }
  return text + extra;
}

// Expects parse_tiktoken_ranks to throw a message containing every one of `parts`.
void expect_rejected(const std::string& text, std::initializer_list<const char*> parts) {
  try {
    parse_tiktoken_ranks(text, "tokenizer.model");
    ADD_FAILURE() << "accepted a broken file";
  } catch (const Error& error) {
    const std::string message = error.what();
    for (const char* part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

TEST(TiktokenRanks, ParsesBase64TokenAndRankPerLine) {
  const TokenVocabulary vocabulary = parse_tiktoken_ranks(byte_ranks("ICA= 256\naGk= 257\n"), "t");
  EXPECT_EQ(vocabulary.size(), 258);
  EXPECT_EQ(vocabulary.bytes(256), "  ");
  EXPECT_EQ(vocabulary.find("hi"), 257);
  EXPECT_EQ(vocabulary.find("!"), '!');
  EXPECT_EQ(vocabulary.find("nope"), TokenVocabulary::kNotFound);
}

TEST(TiktokenRanks, SkipsBlankLinesAndToleratesCrLf) {
  std::string text = byte_ranks("\n\naGk= 256\r\n\r\n");
  const TokenVocabulary vocabulary = parse_tiktoken_ranks(text, "t");
  EXPECT_EQ(vocabulary.size(), 257);
  EXPECT_EQ(vocabulary.bytes(256), "hi");
}

TEST(TiktokenRanks, RanksMayComeInAnyOrder) {
  const TokenVocabulary vocabulary =
      parse_tiktoken_ranks("aGk= 257\n" + byte_ranks("ICA= 256\n"), "t");
  EXPECT_EQ(vocabulary.bytes(257), "hi");
}

TEST(TiktokenRanks, FormatAndParseRoundTrip) {
  const TokenVocabulary toy = toy_vocabulary();
  const TokenVocabulary again = parse_tiktoken_ranks(format_tiktoken_ranks(toy), "t");
  ASSERT_EQ(again.size(), toy.size());
  for (std::int32_t id = 0; id < toy.size(); ++id) EXPECT_EQ(again.bytes(id), toy.bytes(id));
}

TEST(TiktokenRanks, RejectsBadBase64NamingTheLine) {
  expect_rejected(byte_ranks("a*k= 256\n"), {"tokenizer.model:257", "a*k=", "not valid base64"});
  expect_rejected(byte_ranks("aGk 256\n"), {":257", "not valid base64"});
}

TEST(TiktokenRanks, RejectsMissingOrNonNumericRanks) {
  expect_rejected(byte_ranks("aGk=\n"), {":257", "no space"});
  expect_rejected(byte_ranks("aGk= \n"), {":257", "not a non-negative whole number"});
  expect_rejected(byte_ranks("aGk= twelve\n"), {":257", "\"twelve\""});
  expect_rejected(byte_ranks("aGk= -1\n"), {":257", "\"-1\""});
  expect_rejected(byte_ranks("aGk= 256 7\n"), {":257", "\"256 7\""});
  expect_rejected(byte_ranks("aGk= 2.5e2\n"), {":257"});
  expect_rejected(byte_ranks("aGk= 99999999999999999999\n"), {":257", "too large"});
}

TEST(TiktokenRanks, RejectsDuplicateRanksNamingBothLines) {
  expect_rejected(byte_ranks("aGk= 256\naGo= 256\n"), {":258", "rank 256", "line 257"});
}

TEST(TiktokenRanks, RejectsDuplicateTokensNamingBothLines) {
  expect_rejected(byte_ranks("aGk= 256\naGk= 257\n"), {"line 258", "line 257", "aGk="});
}

TEST(TiktokenRanks, RejectsMissingRanks) {
  // 257 lines but a rank of 300: somewhere in 0..256 there is a hole.
  expect_rejected(byte_ranks("aGk= 300\n"), {":257", "rank 300", "0..256"});
}

TEST(TiktokenRanks, RejectsEmptyFilesAndEmptyTokens) {
  expect_rejected("", {"no tokens"});
  expect_rejected("\n\n\r\n", {"no tokens"});
  expect_rejected(byte_ranks(" 256\n"), {":257", "empty"});
}

TEST(TiktokenRanks, RejectsAVocabularyMissingASingleByte) {
  std::string text;
  for (int byte = 0; byte < 255; ++byte) {
    text +=
        encode_base64(std::string(1, static_cast<char>(byte))) + " " + std::to_string(byte) + "\n";
  }
  expect_rejected(text, {"byte 0xff has no token"});
}

TEST(TiktokenRanks, MissingFileIsAClearError) {
  EXPECT_THROW(load_tiktoken_ranks("/nonexistent/tokenizer.model"), Error);
}

TEST(TiktokenRanks, MetasFileHas200000RanksAsTheSpecDescribes) {
  LLAMA4_TOKENIZER_OR_SKIP(path);
  const TokenVocabulary vocabulary = load_tiktoken_ranks(path);
  EXPECT_EQ(vocabulary.size(), 200'000);
  EXPECT_EQ(vocabulary.bytes(0), "\xC0");  // single bytes are not in byte order
  EXPECT_EQ(vocabulary.bytes(13), "!");
  EXPECT_EQ(vocabulary.bytes(255), "\xAD");
  EXPECT_EQ(vocabulary.bytes(256), "  ");
  EXPECT_EQ(vocabulary.bytes(258), "er");
  EXPECT_EQ(vocabulary.bytes(199'994), "middlewares");
  EXPECT_EQ(vocabulary.bytes(199'999), "(ge");
  EXPECT_EQ(vocabulary.longest_token(), 113u);
}

// How long loading takes is measured in bench/ (bench_tokenizer), not asserted here: a timing
// limit in a unit test fails on a busy machine.
TEST(TiktokenRanks, MetasFileLoadsAllItsRanks) {
  LLAMA4_TOKENIZER_OR_SKIP(path);
  const TokenVocabulary vocabulary = load_tiktoken_ranks(path);
  EXPECT_EQ(vocabulary.size(), 200'000);
}

}  // namespace
}  // namespace llama4
