// Chapter 11: training the tokenizer (common/tokenizer/bpe_training.hpp).
//
// The merges are checked against a run worked out by hand, the fast trainer against the plain one,
// the trained ranks against npm tiktoken (golden/tokenizer/generate_trained.cjs), and the tokenizer
// trained on the Bible's train split on its validation split. Tests named BibleData.* need the text
// made by scripts/prepare_bible.py ($LLAMA4_BIBLE_DIR, else build-data/bible); they skip without
// it. CTest runs the script first where the Bible packages are installed (fixture bible_data).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/tensors/error.hpp"
#include "common/tokenizer/bpe_training.hpp"
#include "common/tokenizer/byte_pair_encoding.hpp"
#include "common/tokenizer/chat_format.hpp"
#include "common/tokenizer/special_tokens.hpp"
#include "common/tokenizer/tiktoken_ranks.hpp"
#include "common/tokenizer/tokenizer.hpp"
#include "tests/chapter02/tokenizer_test_support.hpp"
#include "tests/chapter11/bible_data.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using Ids = std::vector<std::int32_t>;

// Every merge of a training run, as the progress callback reported it.
struct Recorded {
  std::vector<BpeMerge> merges;
  BpeProgress callback() {
    return [this](const BpeMerge& merge) { merges.push_back(merge); };
  }
};

std::string repeat_lines(const std::vector<std::pair<std::string, int>>& words) {
  std::string text;
  for (const auto& [word, count] : words) {
    for (int i = 0; i < count; ++i) text += word + "\n";
  }
  return text;
}

// hug x10, pug x5, pun x12, bun x4, hugs x5, one per line: each line is a piece (and each "\n"
// one more, of a single byte, which has no pairs).
const std::string kHugText =
    repeat_lines({{"hug", 10}, {"pug", 5}, {"pun", 12}, {"bun", 4}, {"hugs", 5}});

// The run worked out in common/tokenizer/bpe_training.hpp. Ids of the letters: b 98, g 103, h 104,
// n 110, p 112, s 115, u 117.
//   pairs: u+g 10+5+5 = 20, p+u 5+12 = 17, u+n 12+4 = 16, h+u 10+5 = 15, g+s 5, b+u 4
//   256 "ug"   (20)  pairs now: h+ug 15, p+ug 5, p+u 12, u+n 16, b+u 4, ug+s 5
//   257 "un"   (16)  pairs now: h+ug 15, p+ug 5, p+un 12, b+un 4, ug+s 5
//   258 "hug"  (15)  pairs now: p+ug 5, p+un 12, b+un 4, hug+s 5
//   259 "pun"  (12)  pairs now: p+ug 5, b+un 4, hug+s 5
//   260 "pug"  (5)   the tie: p+ug is (112, 256), hug+s is (258, 115); the older left token wins
//   261 "hugs" (5)
//   262 "bun"  (4)   every piece is now one token: 263 ranks is all this text allows
TEST(BpeTraining, HandWorkedMerges) {
  Recorded recorded;
  const TokenVocabulary vocabulary = train_byte_pair_encoding(kHugText, 263, recorded.callback());
  struct Expected {
    std::int32_t left, right;
    const char* bytes;
    std::int64_t count;
  };
  const std::vector<Expected> expected = {
      {'u', 'g', "ug", 20}, {'u', 'n', "un", 16},  {'h', 256, "hug", 15}, {'p', 257, "pun", 12},
      {'p', 256, "pug", 5}, {258, 's', "hugs", 5}, {'b', 257, "bun", 4}};
  ASSERT_EQ(recorded.merges.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const BpeMerge& merge = recorded.merges[i];
    const std::int32_t rank = 256 + static_cast<std::int32_t>(i);
    EXPECT_EQ(merge.left, expected[i].left) << "rank " << rank;
    EXPECT_EQ(merge.right, expected[i].right) << "rank " << rank;
    EXPECT_EQ(merge.token, rank);
    EXPECT_EQ(merge.bytes, expected[i].bytes) << "rank " << rank;
    EXPECT_EQ(merge.count, expected[i].count) << "rank " << rank;
    EXPECT_TRUE(merge.new_rank);
    EXPECT_EQ(merge.ranks, rank + 1);
    EXPECT_EQ(vocabulary.bytes(rank), expected[i].bytes);
  }
  ASSERT_EQ(vocabulary.size(), 263);
  for (int byte = 0; byte < 256; ++byte) {
    EXPECT_EQ(vocabulary.bytes(byte), std::string(1, static_cast<char>(byte)));
  }
  // The plain trainer learns the same.
  EXPECT_EQ(format_tiktoken_ranks(train_byte_pair_encoding_by_recounting(kHugText, 263)),
            format_tiktoken_ranks(vocabulary));
}

TEST(BpeTraining, TheTextRunsOutOfPairs) {
  for (const auto train : {&train_byte_pair_encoding, &train_byte_pair_encoding_by_recounting}) {
    try {
      train(kHugText, 264, {});
      ADD_FAILURE() << "264 ranks from a text that allows 263";
    } catch (const Error& error) {
      EXPECT_NE(std::string(error.what()).find("allows only 263 ranks"), std::string::npos)
          << error.what();
    }
  }
  // No pair at all: every piece is one byte.
  EXPECT_THROW(train_byte_pair_encoding("a\nb\nc", 257), Error);
  // 256 ranks asks for no merge.
  EXPECT_EQ(train_byte_pair_encoding("a\nb\nc", 256).size(), 256);
}

void expect_error(const std::function<void()>& call, const std::string& part) {
  try {
    call();
    ADD_FAILURE() << "no error; expected one mentioning \"" << part << "\"";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(part), std::string::npos) << error.what();
  }
}

TEST(BpeTraining, RejectsBadArguments) {
  expect_error([] { train_byte_pair_encoding(kHugText, 255); }, "between 256");
  expect_error([] { train_byte_pair_encoding(kHugText, 0); }, "got 0");
  expect_error([] { train_byte_pair_encoding(kHugText, -7); }, "got -7");
  expect_error([] { train_byte_pair_encoding(kHugText, kMaxTrainedRanks + 1); }, "and 200000");
  expect_error([] { train_byte_pair_encoding("", 300); }, "empty");
  expect_error([] { train_byte_pair_encoding("hug\nhu\xFFg\n", 300); }, "byte offset 6 of 9");
  expect_error([] { train_byte_pair_encoding_by_recounting("caf\xC3", 300); }, "byte offset 3");
  expect_error([] { count_pieces("\xC0\xAF"); }, "UTF-8");
}

// The pieces are the tokenizer's: the o200k pattern after Meta's 25,000-character cut.
TEST(BpeTraining, CountsThePiecesTheTokenizerWouldMerge) {
  using Counted = std::vector<std::pair<std::string_view, std::int64_t>>;
  EXPECT_EQ(count_pieces("the cat, the cat's cat hat\n\n"), (Counted{{"the", 1},
                                                                     {" cat", 2},
                                                                     {",", 1},
                                                                     {" the", 1},
                                                                     {" cat's", 1},
                                                                     {" hat", 1},
                                                                     {"\n\n", 1}}));
  // 25,001 letters: Meta cuts the run after 25,000, so there are two pieces.
  const std::string run(25'001, 'a');
  EXPECT_EQ(count_pieces(run), (Counted{{std::string_view(run).substr(0, 25'000), 1}, {"a", 1}}));
}

// A deterministic English-like text: words from syllables, punctuation, line breaks, some UTF-8.
// (std::mt19937's output is fixed by the standard; the distributions are not, so none is used.)
std::string generated_text(std::size_t bytes, std::uint32_t seed) {
  const std::vector<std::string> syllables = {"th", "e",  "an",  "d",  "of", "in",  "er", "lo",
                                              "rd", "s",  "ing", "ed", "wh", "ich", "un", "to",
                                              "é",  "ou", "ght", "a",  "be", "ca",  "me", "ll"};
  const std::vector<std::string> after = {" ",   " ",  " ",   " ",   ", ",  ". ",
                                          ";\n", "\n", "’s ", " — ", ": “", "” "};
  std::mt19937 random(seed);
  const auto pick = [&](std::size_t n) { return static_cast<std::size_t>(random() % n); };
  std::string text;
  while (text.size() < bytes) {
    if (pick(7) == 0) text += "And ";
    const std::size_t length = 1 + pick(4);
    for (std::size_t i = 0; i < length; ++i) text += syllables[pick(syllables.size())];
    text += after[pick(after.size())];
  }
  return text;
}

std::vector<std::tuple<std::int32_t, std::int32_t, std::int32_t, std::int64_t>> summary(
    const std::vector<BpeMerge>& merges) {
  std::vector<std::tuple<std::int32_t, std::int32_t, std::int32_t, std::int64_t>> out;
  for (const BpeMerge& merge : merges)
    out.emplace_back(merge.left, merge.right, merge.token, merge.count);
  return out;
}

TEST(BpeTraining, FastAndPlainTrainersLearnTheSameMerges) {
  const std::string text = generated_text(60'000, 11);
  Recorded fast, plain;
  const TokenVocabulary a = train_byte_pair_encoding(text, 700, fast.callback());
  const TokenVocabulary b = train_byte_pair_encoding_by_recounting(text, 700, plain.callback());
  EXPECT_EQ(summary(fast.merges), summary(plain.merges));
  EXPECT_EQ(format_tiktoken_ranks(a), format_tiktoken_ranks(b));
}

// The header argues that in this training a byte string is only ever made one way, so a merge
// never remakes an existing token. Texts that could tempt it: runs of one letter after every kind
// of neighbour (the left-to-right rule splits "aaa" as "aa" "a"), and alternations, trained until
// they run out of pairs.
TEST(BpeTraining, NoMergeRemakesAnExistingToken) {
  std::string text;
  for (int length = 1; length <= 40; ++length) {
    const std::string run(static_cast<std::size_t>(length), 'a');
    for (const char* before : {"", "b", "ab", "ba", "bb", "c"}) {
      for (const char* after : {"", "b", "ba", "c"}) {
        text += std::string(before) + run + after + "\n";
      }
    }
    std::string alternating;
    for (int i = 0; i < length; ++i) alternating += "abc"[i % (1 + length % 3)];
    text += alternating + "\n";
  }
  for (const auto train : {&train_byte_pair_encoding, &train_byte_pair_encoding_by_recounting}) {
    Recorded recorded;
    EXPECT_THROW(train(text, kMaxTrainedRanks, recorded.callback()), Error);  // runs out of pairs
    EXPECT_GT(recorded.merges.size(), 200u);
    for (const BpeMerge& merge : recorded.merges) {
      EXPECT_TRUE(merge.new_rank) << "rank " << merge.token << " remade: " << merge.bytes;
    }
  }
}

// Chapter 02's encoder, given the trained ranks, cuts every training piece exactly as training
// left it: replaying the merges in order on the piece gives the same tokens.
TEST(BpeTraining, EncodingAPieceReplaysTheMerges) {
  const std::string text = generated_text(30'000, 5);
  Recorded recorded;
  const TokenVocabulary vocabulary = train_byte_pair_encoding(text, 500, recorded.callback());
  for (const auto& [piece, count] : count_pieces(text)) {
    Ids replayed;
    for (const char byte : piece) replayed.push_back(static_cast<unsigned char>(byte));
    for (const BpeMerge& merge : recorded.merges) {
      Ids next;
      for (std::size_t i = 0; i < replayed.size(); ++i) {
        if (i + 1 < replayed.size() && replayed[i] == merge.left &&
            replayed[i + 1] == merge.right) {
          next.push_back(merge.token);
          ++i;
        } else {
          next.push_back(replayed[i]);
        }
      }
      replayed = std::move(next);
    }
    Ids encoded;
    const std::int32_t whole = vocabulary.find(piece);
    if (whole != TokenVocabulary::kNotFound) {
      encoded.push_back(whole);
    } else {
      byte_pair_encode(vocabulary, piece, encoded);
    }
    ASSERT_EQ(encoded, replayed) << "piece \"" << testing::printable(std::string(piece)) << "\"";
  }
}

// Written as a tiktoken file and loaded as chapter 02 loads Meta's: the special tokens come right
// after the last rank, in Meta's order, and the chat format works.
TEST(BpeTraining, TrainedFileLoadsWithLlama4SpecialTokensAfterIt) {
  const std::string text = generated_text(30'000, 7);
  const std::int32_t ranks = 400;
  const testing::TemporaryDirectory directory;
  testing::write_file(directory / "trained.tiktoken",
                      format_tiktoken_ranks(train_byte_pair_encoding(text, ranks)));
  const Tokenizer tokenizer = Tokenizer::load(directory / "trained.tiktoken");
  const std::vector<std::string> special = llama4_special_tokens();
  ASSERT_EQ(special.size(), 2048u);
  EXPECT_EQ(tokenizer.vocabulary().size(), ranks);
  EXPECT_EQ(tokenizer.vocab_size(), ranks + 2048);
  EXPECT_EQ(tokenizer.bos_id(), ranks);
  EXPECT_EQ(tokenizer.eos_id(), ranks + 1);
  for (std::size_t i = 0; i < special.size(); ++i) {
    ASSERT_EQ(tokenizer.special_token_id(special[i]), ranks + static_cast<std::int32_t>(i))
        << special[i];
  }
  EXPECT_EQ(tokenizer.token_bytes(ranks + 2047), special.back());

  const std::vector<ChatMessage> dialog = {{.role = "system", .content = "You are kind."},
                                           {.role = "user", .content = "Who made the ranks?"}};
  const Ids ids = encode_dialog(tokenizer, dialog);
  const auto id = [&](const char* name) { return *tokenizer.special_token_id(name); };
  Ids expected = {tokenizer.bos_id()};
  for (const ChatMessage& message : dialog) {
    expected.push_back(id("<|header_start|>"));
    for (const std::int32_t token : tokenizer.encode(message.role)) expected.push_back(token);
    expected.push_back(id("<|header_end|>"));
    for (const std::int32_t token : tokenizer.encode("\n\n")) expected.push_back(token);
    for (const std::int32_t token : tokenizer.encode(message.content)) expected.push_back(token);
    expected.push_back(id("<|eot|>"));
  }
  expected.push_back(id("<|header_start|>"));
  for (const std::int32_t token : tokenizer.encode("assistant")) expected.push_back(token);
  expected.push_back(id("<|header_end|>"));
  for (const std::int32_t token : tokenizer.encode("\n\n")) expected.push_back(token);
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(tokenizer.decode(ids),
            "<|begin_of_text|><|header_start|>system<|header_end|>\n\nYou are kind.<|eot|>"
            "<|header_start|>user<|header_end|>\n\nWho made the ranks?<|eot|>"
            "<|header_start|>assistant<|header_end|>\n\n");
}

// ---------------------------------------------------------------------------------------------
// Against npm tiktoken with the committed trained ranks (no Bible data needed).

const testing::GoldenSet& bible_golden() {
  return testing::golden_set("bible-cases.json");
}

std::filesystem::path golden_ranks_path() {
  const nlohmann::json root = nlohmann::json::parse(
      testing::read_file(testing::golden_tokenizer_dir() / "bible-cases.json"));
  return testing::golden_tokenizer_dir() / root.at("tokenizer").get<std::string>();
}

TEST(TrainedGoldenIds, OurEncoderMatchesTiktokenWithTheTrainedRanks) {
  const Tokenizer tokenizer = Tokenizer::load(golden_ranks_path());
  const testing::GoldenSet& golden = bible_golden();
  ASSERT_EQ(tokenizer.vocabulary().size(), golden.base_tokens);
  ASSERT_EQ(tokenizer.bos_id(), golden.bos_id);
  ASSERT_EQ(tokenizer.eos_id(), golden.eos_id);
  EXPECT_GE(golden.cases.size(), 1000u);
  int verses = 0, chat = 0, failures = 0;
  for (const testing::GoldenCase& c : golden.cases) {
    verses += c.kind.starts_with("verse-");
    chat += c.kind == "chat";
    const Ids ids = tokenizer.encode(c.text);
    const Ids special = tokenizer.encode(c.text, {.allow_special = true});
    Ids with_bos = {golden.bos_id};
    with_bos.insert(with_bos.end(), c.ids.begin(), c.ids.end());
    if (ids != c.ids || special != c.special_ids ||
        tokenizer.encode(c.text, {.bos = true}) != with_bos || tokenizer.decode(ids) != c.text) {
      ADD_FAILURE() << c.kind << " case \"" << testing::printable(c.text) << "\": ids "
                    << ::testing::PrintToString(ids).substr(0, 300) << "\n  expected "
                    << ::testing::PrintToString(c.ids).substr(0, 300);
      if (++failures == 10) return;
    }
  }
  EXPECT_GE(verses, 200);
  EXPECT_GE(chat, 5);
}

// ---------------------------------------------------------------------------------------------
// With the prepared Bible text.

// The golden file's ranks trained again on the train split (once for all tests).
const TokenVocabulary& trained_on_train_split(const std::filesystem::path& dir,
                                              std::int32_t ranks) {
  static const TokenVocabulary vocabulary =
      train_byte_pair_encoding(testing::read_file(dir / "train.txt"), ranks);
  return vocabulary;
}

TEST(BibleData, TrainingAgainGivesTheCommittedRanks) {
  LLAMA4_BIBLE_OR_SKIP(dir);
  const nlohmann::json root = nlohmann::json::parse(
      testing::read_file(testing::golden_tokenizer_dir() / "bible-cases.json"));
  const auto bytes = root.at("trained_on_bytes").get<std::uintmax_t>();
  ASSERT_EQ(std::filesystem::file_size(dir / "train.txt"), bytes)
      << "this train.txt is not the text the committed ranks were trained on (other package "
         "versions?); see golden/tokenizer/README.md to regenerate them";
  const TokenVocabulary& vocabulary = trained_on_train_split(dir, bible_golden().base_tokens);
  EXPECT_EQ(format_tiktoken_ranks(vocabulary), testing::read_file(golden_ranks_path()))
      << "regenerate with: cd golden/tokenizer && node generate_trained.cjs";
}

TEST(BibleData, ValidationSplitRoundTrips) {
  LLAMA4_BIBLE_OR_SKIP(dir);
  const Tokenizer tokenizer =
      Tokenizer::from_vocabulary(trained_on_train_split(dir, bible_golden().base_tokens));
  const std::string validation = testing::read_file(dir / "validation.txt");
  ASSERT_GT(validation.size(), 500'000u);
  const Ids ids = tokenizer.encode(validation);
  EXPECT_EQ(tokenizer.decode(ids), validation);
  // A vocabulary learned from the other chapters still compresses these: about 4 bytes a token.
  const double bytes_per_token =
      static_cast<double>(validation.size()) / static_cast<double>(ids.size());
  EXPECT_GT(bytes_per_token, 3.5);
  std::printf("validation split: %zu bytes, %zu tokens, %.3f bytes per token\n", validation.size(),
              ids.size(), bytes_per_token);
}

}  // namespace
}  // namespace llama4
