// Chapter 02: the byte-level helpers — UTF-8, base64, the byte-level alphabet, Meta's long-run
// cuts — and the streaming decoder.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/tensors/error.hpp"
#include "common/tokenizer/base64.hpp"
#include "common/tokenizer/byte_level_alphabet.hpp"
#include "common/tokenizer/long_run_splitter.hpp"
#include "common/tokenizer/utf8.hpp"
#include "common/tokenizer/utf8_stream_decoder.hpp"
#include "tests/chapter02/tokenizer_test_support.hpp"

namespace llama4 {
namespace {

using testing::toy_tokenizer;

// U+FFFD written as "?" to keep the expectations readable.
std::string with_question_marks(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text.compare(i, 3, "\xEF\xBF\xBD") == 0) {
      out += '?';
      i += 3;
    } else {
      out += text[i++];
    }
  }
  return out;
}

TEST(Utf8, AcceptsValidTextOfEveryLength) {
  EXPECT_EQ(find_invalid_utf8("plain ascii"), std::nullopt);
  EXPECT_EQ(find_invalid_utf8("é 東 👋"), std::nullopt);
  EXPECT_EQ(find_invalid_utf8(std::string("\0", 1)), std::nullopt);
  EXPECT_EQ(find_invalid_utf8("\xF4\x8F\xBF\xBF"), std::nullopt);  // U+10FFFF
}

TEST(Utf8, RejectsOverlongSurrogateAndOutOfRangeForms) {
  EXPECT_EQ(find_invalid_utf8("ab\xC0\xAF"), 2u);        // overlong "/"
  EXPECT_EQ(find_invalid_utf8("\xE0\x80\xAF"), 0u);      // overlong, 3 bytes
  EXPECT_EQ(find_invalid_utf8("x\xED\xA0\x80"), 1u);     // U+D800, a surrogate
  EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80"), 0u);  // U+110000
  EXPECT_EQ(find_invalid_utf8("\xF5\x80\x80\x80"), 0u);
  EXPECT_EQ(find_invalid_utf8("abc\x80"), 3u);      // a lone continuation byte
  EXPECT_EQ(find_invalid_utf8("abc\xE2\x82"), 3u);  // cut short at the end
}

TEST(Utf8, ReplacementFollowsPythonMaximalSubparts) {
  // Expected values from Python: bytes.decode("utf-8", errors="replace").
  const std::pair<std::string, std::string> cases[] = {
      {"\xFF", "?"},
      {"\xC0\xAF", "??"},
      {"\xE0\x80\xAF", "???"},
      {"\xED\xA0\x80", "???"},
      {"\xF4\x90\x80\x80", "????"},
      {"\xE2\x82", "?"},
      {"\xE2\x82"
       "A",
       "?A"},
      {"\xF0\x9F\x91", "?"},
      {"\x80\x80", "??"},
      {"a\xC3", "a?"},
      {"\xE2(\xA1", "?(?"},
      {"\xF5\x80", "??"},
      {"\xC2\xC2\xA9", "?\xC2\xA9"},
      {"\xF0\x9F\x91\x8B", "\xF0\x9F\x91\x8B"},
  };
  for (const auto& [input, expected] : cases) {
    EXPECT_EQ(with_question_marks(replace_invalid_utf8(input)), expected)
        << testing::printable(input);
  }
}

TEST(Utf8, EncodesEveryCodePointAndDecodesItBack) {
  for (char32_t c = 0; c <= 0x10FFFF; ++c) {
    if (c >= 0xD800 && c <= 0xDFFF) continue;
    std::string bytes;
    append_utf8(bytes, c);
    const Utf8Sequence sequence = inspect_utf8(bytes, 0);
    ASSERT_EQ(sequence.kind, Utf8Sequence::Kind::kComplete)
        << std::hex << static_cast<std::uint32_t>(c);
    ASSERT_EQ(sequence.length, bytes.size());
    ASSERT_EQ(static_cast<std::uint32_t>(sequence.code_point), static_cast<std::uint32_t>(c));
  }
}

TEST(Base64, DecodesTokenizerModelEntries) {
  EXPECT_EQ(decode_base64("IQ=="), "!");
  EXPECT_EQ(decode_base64("wA=="), "\xC0");  // rank 0 in Llama 4's file
  EXPECT_EQ(decode_base64("ICA="), "  ");    // rank 256: two spaces
  EXPECT_EQ(decode_base64("KGdl"), "(ge");   // rank 199,999
  EXPECT_EQ(decode_base64(""), "");
}

TEST(Base64, RejectsMalformedText) {
  for (const char* bad :
       {"I", "IQ=", "IQ===", "I Q==", "IQ=a", "====", "A===", "IQ-=", "IR==", "ICB="}) {
    EXPECT_EQ(decode_base64(bad), std::nullopt) << bad;
  }
}

TEST(Base64, RoundTripsRandomBytes) {
  std::mt19937 generator(7);
  for (int trial = 0; trial < 500; ++trial) {
    std::string bytes(static_cast<std::size_t>(generator() % 40), '\0');
    for (char& c : bytes) c = static_cast<char>(generator());
    EXPECT_EQ(decode_base64(encode_base64(bytes)), bytes);
  }
}

TEST(ByteLevelAlphabet, SpaceIsGWithDotAndNewlineIsCWithDot) {
  EXPECT_EQ(bytes_to_alphabet_text(" the"), "Ġthe");
  EXPECT_EQ(bytes_to_alphabet_text("\n"), "Ċ");
  EXPECT_EQ(bytes_to_alphabet_text("a!~"), "a!~");
  EXPECT_EQ(alphabet_text_to_bytes("Ġthe"), " the");
  EXPECT_EQ(static_cast<std::uint32_t>(byte_to_alphabet_char(0xAD)),
            0x143u);  // the last moved byte
}

TEST(ByteLevelAlphabet, IsABijectionOverAllBytes) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(alphabet_text_to_bytes(bytes_to_alphabet_text(all)), all);
  EXPECT_EQ(alphabet_text_to_bytes("é東"), std::nullopt);   // é (U+00E9) is fine, 東 is not
  EXPECT_EQ(alphabet_text_to_bytes("\xFF"), std::nullopt);  // not UTF-8
}

TEST(LongRunSplitter, PythonWhitespaceIncludesTheAsciiSeparators) {
  for (char32_t c : {0x09, 0x0A, 0x0B,   0x0C,   0x0D,   0x1C,   0x1D,   0x1E,   0x1F,   0x20,
                     0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000}) {
    EXPECT_TRUE(is_python_whitespace(c)) << std::hex << static_cast<unsigned>(c);
  }
  for (char32_t c : {0x08, 0x21, 0x180E, 0x200B, 0xFEFF, 0x0E}) {
    EXPECT_FALSE(is_python_whitespace(c)) << std::hex << static_cast<unsigned>(c);
  }
}

TEST(LongRunSplitter, CutsARunWhenItWouldExceedTheLimit) {
  // With a limit of 3: "aaaa" is cut after 3 characters; the counter starts again at 1.
  using Pieces = std::vector<std::string_view>;
  EXPECT_EQ(split_long_runs("aaa", 100, 3), Pieces({"aaa"}));
  EXPECT_EQ(split_long_runs("aaaa", 100, 3), Pieces({"aaa", "a"}));
  EXPECT_EQ(split_long_runs("aaaaaaa", 100, 3), Pieces({"aaa", "aaa", "a"}));
  EXPECT_EQ(split_long_runs("aaa bbb   cc", 100, 3), Pieces({"aaa bbb   cc"}));
  EXPECT_EQ(split_long_runs("ab     c", 100, 3), Pieces({"ab   ", "  c"}));
  // The slice starts at the previous cut, not at the run: "xx" + "aaaa" cuts inside the a's.
  EXPECT_EQ(split_long_runs("x aaaa", 100, 3), Pieces({"x aaa", "a"}));
  EXPECT_TRUE(split_long_runs("", 100, 3).empty());
}

TEST(LongRunSplitter, CountsCodePointsNotBytes) {
  using Pieces = std::vector<std::string_view>;
  EXPECT_EQ(split_long_runs("東東東東", 100, 3), Pieces({"東東東", "東"}));
  EXPECT_EQ(split_long_runs("🙂🙂🙂", 100, 3), Pieces({"🙂🙂🙂"}));
  // \x1C is whitespace for Python, so it breaks a run of letters.
  EXPECT_EQ(split_long_runs("aa\x1C"
                            "aa",
                            100, 3),
            Pieces({"aa\x1C"
                    "aa"}));
}

TEST(LongRunSplitter, WindowsRestartTheRunCounter) {
  using Pieces = std::vector<std::string_view>;
  EXPECT_EQ(split_long_runs("aaaaa", 2, 3), Pieces({"aa", "aa", "a"}));
  EXPECT_EQ(split_long_runs("aaaaaaa", 5, 3), Pieces({"aaa", "aa", "aa"}));
}

TEST(LongRunSplitter, MetaLimitsAre25000And400000) {
  const std::string run(25'000, 'a');
  EXPECT_EQ(split_long_runs(run).size(), 1u);
  EXPECT_EQ(split_long_runs(run + "a").size(), 2u);
  EXPECT_EQ(split_long_runs(std::string(25'001, ' ')).size(), 2u);
  std::string words;
  while (words.size() < 400'010) words += "ab ";
  const auto pieces = split_long_runs(words);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].size(), 400'000u);
}

TEST(Utf8StreamDecoder, HoldsBackHalfACharacterUntilTheNextToken) {
  const Tokenizer& tokenizer = toy_tokenizer();
  // The toy vocabulary has F0 9F as one token; "🙂" (F0 9F 99 82) is then 3 tokens.
  const std::vector<std::int32_t> ids = tokenizer.encode("a🙂b");
  ASSERT_EQ(ids.size(), 5u);
  Utf8StreamDecoder stream(tokenizer);
  EXPECT_EQ(stream.push(ids[0]), "a");
  EXPECT_EQ(stream.push(ids[1]), "");
  EXPECT_EQ(stream.pending_bytes(), 2u);
  EXPECT_EQ(stream.push(ids[2]), "");
  EXPECT_EQ(stream.push(ids[3]), "🙂");
  EXPECT_EQ(stream.push(ids[4]), "b");
  EXPECT_EQ(stream.flush(), "");
}

TEST(Utf8StreamDecoder, ReplacesBrokenBytesAndFlushesATruncatedTail) {
  const Tokenizer& tokenizer = toy_tokenizer();
  Utf8StreamDecoder stream(tokenizer);
  EXPECT_EQ(with_question_marks(stream.push(0x80)), "?");  // a lone continuation byte
  EXPECT_EQ(stream.push(0xE6), "");                        // first byte of 東
  EXPECT_EQ(with_question_marks(stream.push('x')), "?x");  // ... never completed
  EXPECT_EQ(stream.push(0xF0), "");
  EXPECT_EQ(with_question_marks(stream.flush()), "?");
  EXPECT_EQ(stream.pending_bytes(), 0u);
  EXPECT_THROW(stream.push(tokenizer.vocab_size()), Error);
}

TEST(Utf8StreamDecoder, StreamEqualsPythonReplaceDecodeOfAllIds) {
  const Tokenizer& tokenizer = toy_tokenizer();
  std::mt19937 generator(11);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<std::int32_t> ids;
    for (int i = 0; i < 12; ++i) {
      ids.push_back(
          static_cast<std::int32_t>(generator() % static_cast<unsigned>(tokenizer.vocab_size())));
    }
    Utf8StreamDecoder stream(tokenizer);
    std::string streamed;
    for (const std::int32_t id : ids) streamed += stream.push(id);
    streamed += stream.flush();
    EXPECT_EQ(streamed, replace_invalid_utf8(tokenizer.decode(ids)));
    EXPECT_EQ(find_invalid_utf8(streamed), std::nullopt);
  }
}

}  // namespace
}  // namespace llama4
