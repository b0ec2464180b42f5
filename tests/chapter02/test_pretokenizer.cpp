// Chapter 02: the o200k split pattern, run by PCRE2, and its traps.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/tensors/error.hpp"
#include "common/tokenizer/pretokenizer.hpp"
#include "common/tokenizer/utf8.hpp"
#include "tests/chapter02/tokenizer_test_support.hpp"

namespace llama4 {
namespace {

using Pieces = std::vector<std::string>;

Pieces split(const std::string& text) {
  static const Pretokenizer pretokenizer;
  Pieces pieces;
  for (const std::string_view piece : pretokenizer.split(text)) pieces.emplace_back(piece);
  return pieces;
}

TEST(Pretokenizer, SpecExampleSplitsAsTiktokenDoes) {
  EXPECT_EQ(split("Hello world!\n\n  It's 2025-04-05, ok?  "),
            Pieces({"Hello", " world", "!\n\n", " ", " It's", " ", "202", "5", "-", "04", "-", "05",
                    ",", " ok", "?", "  "}));
}

TEST(Pretokenizer, TranslatesBackslashSToUnicodeWhiteSpace) {
  EXPECT_EQ(pcre2_pattern(R"(\s+(?!\S)|[^\s\p{L}])"),
            "[" + std::string(kWhiteSpaceClassBody) + "]+(?![^" +
                std::string(kWhiteSpaceClassBody) + "])|[^" + std::string(kWhiteSpaceClassBody) +
                "\\p{L}]");
  EXPECT_EQ(pcre2_pattern(R"(a\\s\d)"), R"(a\\s\d)");  // an escaped backslash, then 's'
}

// Trap: PCRE2 counts U+180E MONGOLIAN VOWEL SEPARATOR as \s; Unicode (and tiktoken) no longer do.
TEST(Pretokenizer, MongolianVowelSeparatorIsNotWhitespace) {
  // With PCRE2's own \s this would be "x", "\u180e", "\u180e", "!".
  EXPECT_EQ(split("x\u180e\u180e!"), Pieces({"x", "\u180e\u180e!"}));
  EXPECT_EQ(split("a\u0085b"), Pieces({"a", "\u0085b"}));  // NEL is White_Space... and Cc
  EXPECT_EQ(split("a\u3000\u3000b"), Pieces({"a", "\u3000", "\u3000b"}));
}

// Trap: combining marks (\p{M}) belong to the word. A matcher that approximates the case classes
// with [^a-z] (llama.cpp's) splits "é" written as e + U+0301 differently.
TEST(Pretokenizer, CombiningMarksStayInsideTheWord) {
  EXPECT_EQ(split("cafe\u0301 ok"), Pieces({"cafe\u0301", " ok"}));
  // A mark counts as "lower case" for the first alternative, so it ends an upper-case run.
  EXPECT_EQ(split("E\u0301COLE"), Pieces({"E\u0301", "COLE"}));
  EXPECT_EQ(split("\u0915\u094d\u0937"), Pieces({"\u0915\u094d\u0937"}));  // Devanagari conjunct
  EXPECT_EQ(split(" \u0301x"), Pieces({" \u0301x"}));
}

// Trap: the contractions are case-insensitive and only follow a letter run.
TEST(Pretokenizer, ContractionsMatchInAnyLetterCase) {
  EXPECT_EQ(split("IT'S"), Pieces({"IT'S"}));
  EXPECT_EQ(split("it'S we'Ve I'M"), Pieces({"it'S", " we'Ve", " I'M"}));
  EXPECT_EQ(split("they'LL"), Pieces({"they'LL"}));
  EXPECT_EQ(split("don't"), Pieces({"don't"}));
  EXPECT_EQ(split("it's's"), Pieces({"it's", "'s"}));
  EXPECT_EQ(split("it’s"), Pieces({"it", "’s"}));    // a typographic apostrophe is punctuation
  EXPECT_EQ(split("123's"), Pieces({"123", "'s"}));  // no letters before it
}

// Trap: \s+(?!\S) leaves the last space of a run for the next word, unless the run ends the text.
TEST(Pretokenizer, WhitespaceLooksAheadAndLeavesOneSpaceForTheNextWord) {
  EXPECT_EQ(split("a   b"), Pieces({"a", "  ", " b"}));
  EXPECT_EQ(split("a   "), Pieces({"a", "   "}));
  EXPECT_EQ(split("a \n\n b"), Pieces({"a", " \n\n", " b"}));
  EXPECT_EQ(split("x\r\n\r\ny"), Pieces({"x", "\r\n\r\n", "y"}));
  EXPECT_EQ(split("\t\tx"), Pieces({"\t", "\tx"}));
  EXPECT_EQ(split("a  !"), Pieces({"a", " ", " !"}));
}

TEST(Pretokenizer, NumbersComeInGroupsOfAtMostThreeDigits) {
  EXPECT_EQ(split("1234567"), Pieces({"123", "456", "7"}));
  EXPECT_EQ(split("x 12"), Pieces({"x", " ", "12"}));
  EXPECT_EQ(split("٣٤٥٦"), Pieces({"٣٤٥", "٦"}));
}

TEST(Pretokenizer, WordsSplitAtCaseChanges) {
  EXPECT_EQ(split("HTTPServer camelCase"), Pieces({"HTTPServer", " camel", "Case"}));
  EXPECT_EQ(split("McDonald"), Pieces({"Mc", "Donald"}));
  EXPECT_EQ(split("path/to/x"), Pieces({"path", "/to", "/x"}));
}

TEST(Pretokenizer, PiecesCoverTheTextExactly) {
  std::mt19937 generator(3);
  const char32_t alphabet[] = {U'a',  U'Z',   U' ',    U'\n',  U'\r', U'\t',  U'1',
                               U'\'', U's',   U'!',    U'/',   0x301, 0x3000, 0x180E,
                               0x85,  0x6771, 0x1F642, 0xAC00, 0x5D0, 0x0};
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    const int length = static_cast<int>(generator() % 24);
    for (int i = 0; i < length; ++i) append_utf8(text, alphabet[generator() % std::size(alphabet)]);
    std::string joined;
    for (const std::string& piece : split(text)) {
      EXPECT_FALSE(piece.empty());
      joined += piece;
    }
    ASSERT_EQ(joined, text) << testing::printable(text);
  }
}

// Tokenizer::encode checks the UTF-8 once and then calls split_valid_utf8 on pieces of the text:
// the same pieces as split(), without the second check.
TEST(Pretokenizer, SplitValidUtf8GivesTheSamePiecesAsSplit) {
  static const Pretokenizer pretokenizer;
  for (const char* text : {"", "Hello world!\n\n  It's 2025-04-05, ok?  ", "café 東京 🦙\r\n",
                           "e\u0301t\u00e9 \u180e x"}) {
    std::vector<std::string_view> checked, unchecked;
    pretokenizer.split(text, checked);
    pretokenizer.split_valid_utf8(text, unchecked);
    EXPECT_EQ(unchecked, checked) << text;
  }
}

// Meta's 25,000-character runs are the longest pieces the pattern sees; PCRE2's JIT must
// backtrack through them without running out of stack.
TEST(Pretokenizer, HandlesTheLongestRunsMetaAllows) {
  for (const std::string& unit : {std::string("a"), std::string("A"), std::string(" "),
                                  std::string("\u0301"), std::string("!"), std::string("7")}) {
    std::string text;
    for (int i = 0; i < 25'000; ++i) text += unit;
    std::size_t covered = 0;
    for (const std::string& piece : split(text + "x")) covered += piece.size();
    EXPECT_EQ(covered, text.size() + 1);
  }
}

TEST(Pretokenizer, ABadPatternIsAClearError) {
  EXPECT_THROW(Pretokenizer("(unclosed"), Error);
}

// PCRE2 is told not to re-check UTF-8 on every match, so the pre-tokenizer checks it once itself.
TEST(Pretokenizer, RefusesInvalidUtf8) {
  const Pretokenizer pretokenizer;
  EXPECT_THROW(pretokenizer.split("ok \xC3"), Error);
  EXPECT_THROW(pretokenizer.split("\xED\xA0\x80"), Error);
}

}  // namespace
}  // namespace llama4
