// Chapter 02: the Tokenizer — special tokens, options, decoding, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/tensors/error.hpp"
#include "common/tokenizer/special_tokens.hpp"
#include "common/tokenizer/tiktoken_ranks.hpp"
#include "common/tokenizer/tokenizer.hpp"
#include "common/tokenizer/toy_vocabulary.hpp"
#include "common/tokenizer/utf8.hpp"
#include "tests/chapter02/tokenizer_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using testing::toy_tokenizer;
using Ids = std::vector<std::int32_t>;

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(SpecialTokens, MetasListHas2048UniqueTokensInOrder) {
  const std::vector<std::string> tokens = llama4_special_tokens();
  ASSERT_EQ(tokens.size(), 2048u);
  EXPECT_EQ(std::set<std::string>(tokens.begin(), tokens.end()).size(), 2048u);
  // Ids are 200000 + index; the table in the spec, §4.3.
  const std::pair<int, const char*> expected[] = {
      {200000, "<|begin_of_text|>"},
      {200001, "<|end_of_text|>"},
      {200002, "<|fim_prefix|>"},
      {200004, "<|fim_suffix|>"},
      {200005, "<|header_start|>"},
      {200006, "<|header_end|>"},
      {200007, "<|eom|>"},
      {200008, "<|eot|>"},
      {200009, "<|step|>"},
      {200010, "<|text_post_train_reserved_special_token_0|>"},
      {200015, "<|text_post_train_reserved_special_token_5|>"},
      {200016, "<|python_start|>"},
      {200017, "<|python_end|>"},
      {200018, "<|finetune_right_pad|>"},
      {200019, "<|text_post_train_reserved_special_token_8|>"},
      {200079, "<|text_post_train_reserved_special_token_68|>"},
      {200080, "<|image_start|>"},
      {200081, "<|image_end|>"},
      {200082, "<|vision_reserved_special_token_0|>"},
      {200084, "<|tile_x_separator|>"},
      {200085, "<|tile_y_separator|>"},
      {200089, "<|vision_reserved_special_token_5|>"},
      {200090, "<|image|>"},
      {200091, "<|vision_reserved_special_token_6|>"},
      {200092, "<|patch|>"},
      {200093, "<|vision_reserved_special_token_7|>"},
      {201133, "<|vision_reserved_special_token_1047|>"},
      {201134, "<|reasoning_reserved_special_token_0|>"},
      {201141, "<|reasoning_reserved_special_token_7|>"},
      {201142, "<|reasoning_thinking_start|>"},
      {201143, "<|reasoning_thinking_end|>"},
      {201144, "<|reserved_special_token_0|>"},
      {202047, "<|reserved_special_token_903|>"},
  };
  for (const auto& [id, text] : expected)
    EXPECT_EQ(tokens[static_cast<std::size_t>(id - 200000)], text);
}

TEST(SpecialTokens, FindNextIsTheLeftmostMatch) {
  const SpecialTokens special(llama4_special_tokens(), 200000);
  const auto match = special.find_next("x<|<|eot|>|>", 0);
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->offset, 3u);
  EXPECT_EQ(match->id, 200008);
  EXPECT_FALSE(special.find_next("<|eot|", 0).has_value());
  EXPECT_FALSE(special.find_next("<|not_special|>", 0).has_value());
  EXPECT_FALSE(special.find_next("<|eot|>", 1).has_value());
  EXPECT_THROW(SpecialTokens({"<|a|>", "<|a|>"}, 0), Error);
  EXPECT_THROW(SpecialTokens({"eot"}, 0), Error);
}

TEST(Tokenizer, ToyTokenizerPutsSpecialTokensAfterTheVocabulary) {
  const Tokenizer& tokenizer = toy_tokenizer();
  const std::int32_t base = toy_vocabulary().size();
  EXPECT_EQ(tokenizer.vocab_size(), base + 2048);
  EXPECT_EQ(tokenizer.bos_id(), base);
  EXPECT_EQ(tokenizer.eos_id(), base + 1);
  EXPECT_EQ(tokenizer.eom_id(), base + 7);
  EXPECT_EQ(tokenizer.eot_id(), base + 8);
  EXPECT_EQ(tokenizer.pad_id(), base + 18);
  EXPECT_EQ(tokenizer.stop_ids(), Ids({base + 1, base + 7, base + 8}));
  EXPECT_TRUE(tokenizer.is_special(base));
  EXPECT_FALSE(tokenizer.is_special(base - 1));
  EXPECT_FALSE(tokenizer.is_special(base + 2048));
  EXPECT_EQ(tokenizer.special_token_id("<|eot|>"), base + 8);
  EXPECT_EQ(tokenizer.special_token_id("<|eot"), std::nullopt);
}

TEST(Tokenizer, MetasTokenizerHasTheSpecIds) {
  LLAMA4_TOKENIZER_OR_SKIP(path);
  const Tokenizer& tokenizer = testing::real_tokenizer();
  EXPECT_EQ(tokenizer.vocab_size(), 202'048);
  EXPECT_EQ(tokenizer.bos_id(), 200'000);
  EXPECT_EQ(tokenizer.eos_id(), 200'001);
  EXPECT_EQ(tokenizer.eom_id(), 200'007);
  EXPECT_EQ(tokenizer.eot_id(), 200'008);
  EXPECT_EQ(tokenizer.pad_id(), 200'018);
  EXPECT_EQ(tokenizer.stop_ids(), Ids({200'001, 200'007, 200'008}));
  EXPECT_EQ(tokenizer.special_token_id("<|reasoning_thinking_start|>"), 201'142);
  EXPECT_EQ(tokenizer.token_bytes(200'092), "<|patch|>");
}

// The spec's second worked example (§4.5).
TEST(Tokenizer, EncodesTheSpecHelloWorldExample) {
  LLAMA4_TOKENIZER_OR_SKIP(path);
  const Tokenizer& tokenizer = testing::real_tokenizer();
  const std::string text = "Hello world!\n\n  It's 2025-04-05, ok?  ";
  const Ids expected = {19873, 3817, 28655, 220,  11680, 220,  837, 33,
                        25,    2468, 25,    2253, 24,    6286, 43,  256};
  EXPECT_EQ(tokenizer.encode(text), expected);
  EXPECT_EQ(tokenizer.decode(expected), text);
  EXPECT_EQ(tokenizer.encode("system"), Ids({15651}));
  EXPECT_EQ(tokenizer.encode("ipython"), Ids({607, 6934}));
  EXPECT_EQ(tokenizer.encode("\n\n"), Ids({368}));
}

// Trap: special-token text typed by a user is plain text unless the caller allows it.
TEST(Tokenizer, SpecialTokenTextIsPlainTextUnlessAllowed) {
  const Tokenizer& tokenizer = toy_tokenizer();
  const Ids plain = tokenizer.encode("a<|eot|>b");
  EXPECT_EQ(std::count(plain.begin(), plain.end(), tokenizer.eot_id()), 0);
  EXPECT_EQ(tokenizer.decode(plain), "a<|eot|>b");
  const Ids allowed = tokenizer.encode("a<|eot|>b", {.allow_special = true});
  EXPECT_EQ(allowed, Ids({'a', tokenizer.eot_id(), 'b'}));
  EXPECT_EQ(tokenizer.decode(allowed), "a<|eot|>b");
  // Text between special tokens is encoded on its own: the trailing spaces before <|eot|> are a
  // run at the end of a text, not "a space before the next word".
  EXPECT_EQ(tokenizer.encode("x  <|eot|>", {.allow_special = true}),
            Ids({'x', tokenizer.vocabulary().find("  "), tokenizer.eot_id()}));
}

TEST(Tokenizer, BosAndEosOptions) {
  const Tokenizer& tokenizer = toy_tokenizer();
  const Ids ids = tokenizer.encode("Hello");
  EXPECT_EQ(ids, Ids({tokenizer.vocabulary().find("Hello")}));
  Ids with_bos = ids;
  with_bos.insert(with_bos.begin(), tokenizer.bos_id());
  EXPECT_EQ(tokenizer.encode("Hello", {.bos = true}), with_bos);
  with_bos.push_back(tokenizer.eos_id());
  EXPECT_EQ(tokenizer.encode("Hello", {.bos = true, .eos = true}), with_bos);
  EXPECT_EQ(tokenizer.encode("", {.bos = true}), Ids({tokenizer.bos_id()}));
  EXPECT_TRUE(tokenizer.encode("").empty());
}

TEST(Tokenizer, DecodeGivesTheBytesBack) {
  const Tokenizer& tokenizer = toy_tokenizer();
  for (const std::string text :
       {"Hello world", "café 東京 👋🏽", "a\r\n\tb  ", "<|eot|>", "\xC3"}) {
    if (find_invalid_utf8(text)) continue;
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(text)), text);
  }
  // A token may hold half a character; decode returns bytes, not text.
  EXPECT_EQ(tokenizer.decode(Ids({0xE6, 0x9D})), "\xE6\x9D");
}

TEST(Tokenizer, DecodeRejectsIdsOutOfRangeNamingThem) {
  const Tokenizer& tokenizer = toy_tokenizer();
  const std::string last = std::to_string(tokenizer.vocab_size() - 1);
  const std::string message = error_of([&] { tokenizer.decode(Ids({1, tokenizer.vocab_size()})); });
  EXPECT_NE(message.find("token id " + std::to_string(tokenizer.vocab_size())), std::string::npos)
      << message;
  EXPECT_NE(message.find("0.." + last), std::string::npos) << message;
  EXPECT_NE(error_of([&] { tokenizer.decode(Ids({-1})); }).find("token id -1"), std::string::npos);
  EXPECT_THROW(tokenizer.token_bytes(-5), Error);
}

// Decision: invalid UTF-8 is rejected with the byte offset (see tokenizer.hpp).
TEST(Tokenizer, InvalidUtf8IsRejectedWithItsByteOffset) {
  const Tokenizer& tokenizer = toy_tokenizer();
  const std::string message = error_of([&] {
    tokenizer.encode(
        "ab\xFF"
        "cd");
  });
  EXPECT_NE(message.find("byte offset 2"), std::string::npos) << message;
  EXPECT_NE(message.find("0xff"), std::string::npos) << message;
  EXPECT_NE(error_of([&] { tokenizer.encode("abc\xE2\x82"); }).find("offset 3"), std::string::npos);
  EXPECT_NE(error_of([&] { tokenizer.encode("\xED\xA0\x80"); }).find("offset 0"),
            std::string::npos);
  // The check is at the door, on the whole text: the offset counts from the text's start, also
  // past a special token and past Meta's long-run cut (at 25,000 characters).
  EXPECT_NE(error_of([&] {
              tokenizer.encode("a<|eot|>b\xFF", {.allow_special = true});
            }).find("offset 9 of 10"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              tokenizer.encode(std::string(30'000, 'a') + "\xFF");
            }).find("offset 30000 of 30001"),
            std::string::npos);
  // The documented way out: replace first.
  EXPECT_EQ(tokenizer.decode(tokenizer.encode(replace_invalid_utf8("ab\xFF"
                                                                   "cd"))),
            "ab\uFFFD"
            "cd");
}

// Trap: Meta cuts runs longer than 25,000 characters before tiktoken sees them, so 30,000 spaces
// encode as 25,000 spaces followed by 5,000 spaces.
TEST(Tokenizer, LongRunsAreEncodedInMetasPieces) {
  const Tokenizer& tokenizer = toy_tokenizer();
  Ids expected = tokenizer.encode(std::string(25'000, ' '));
  const Ids rest = tokenizer.encode(std::string(5'000, ' '));
  expected.insert(expected.end(), rest.begin(), rest.end());
  EXPECT_EQ(tokenizer.encode(std::string(30'000, ' ')), expected);
}

TEST(Tokenizer, OneTokenizerServesManyThreads) {
  const Tokenizer& tokenizer = toy_tokenizer();
  const std::string text = "Hello world, it's 2025! café 東京\n\n  the lowest  ";
  const Ids expected = tokenizer.encode(text);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i)
        mismatches[static_cast<std::size_t>(t)] += tokenizer.encode(text) != expected;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

TEST(Tokenizer, LoadTellsJsonFromTiktokenByContent) {
  testing::TemporaryDirectory directory;
  testing::write_file(directory / "vocab.json", format_tiktoken_ranks(toy_vocabulary()));
  testing::write_file(directory / "tokenizer.model",
                      testing::hf_tokenizer_json_text(toy_vocabulary()));
  EXPECT_EQ(Tokenizer::load(directory / "vocab.json").encode("Hello world"),
            toy_tokenizer().encode("Hello world"));
  EXPECT_EQ(Tokenizer::load(directory / "tokenizer.model").encode("Hello world"),
            toy_tokenizer().encode("Hello world"));
  const std::string message = error_of([&] { Tokenizer::load(directory / "missing.model"); });
  EXPECT_NE(message.find("missing.model"), std::string::npos) << message;
  testing::write_file(directory / "empty.model", "");
  EXPECT_NE(error_of([&] { Tokenizer::load(directory / "empty.model"); }).find("no tokens"),
            std::string::npos);
}

}  // namespace
}  // namespace llama4
