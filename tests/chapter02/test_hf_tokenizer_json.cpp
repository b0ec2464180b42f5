// Chapter 02: loading an HF tokenizer.json into the same tokenizer, and refusing broken ones.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/tensors/error.hpp"
#include "common/tokenizer/hf_tokenizer_json.hpp"
#include "common/tokenizer/tiktoken_ranks.hpp"
#include "common/tokenizer/toy_vocabulary.hpp"
#include "tests/chapter02/tokenizer_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using Json = nlohmann::json;
using testing::hf_tokenizer_json_text;

Json toy_json() {
  return Json::parse(hf_tokenizer_json_text(toy_vocabulary()));
}

void expect_rejected(const std::string& text, std::initializer_list<const char*> parts) {
  try {
    parse_hf_tokenizer_json(text, "tokenizer.json");
    ADD_FAILURE() << "accepted a broken file";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("tokenizer.json"), std::string::npos) << message;
    for (const char* part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

TEST(HfTokenizerJson, LoadsTheSameVocabularyAsTheTiktokenFile) {
  for (const bool pairs : {false, true}) {
    const HfTokenizerJson file =
        parse_hf_tokenizer_json(hf_tokenizer_json_text(toy_vocabulary(), pairs), "t");
    const TokenVocabulary toy = toy_vocabulary();
    ASSERT_EQ(file.vocabulary.size(), toy.size());
    for (std::int32_t id = 0; id < toy.size(); ++id)
      EXPECT_EQ(file.vocabulary.bytes(id), toy.bytes(id));
    EXPECT_EQ(file.added_tokens.size(), 1134u);
    EXPECT_EQ(file.added_tokens[8].content, "<|eot|>");
    EXPECT_EQ(file.added_tokens[8].id, toy.size() + 8);
  }
}

TEST(HfTokenizerJson, TokenizerLoadsJsonAndEncodesLikeTiktoken) {
  testing::TemporaryDirectory directory;
  testing::write_file(directory / "tokenizer.json", hf_tokenizer_json_text(toy_vocabulary()));
  const Tokenizer from_json = Tokenizer::load(directory / "tokenizer.json");
  const Tokenizer& from_ranks = testing::toy_tokenizer();
  EXPECT_EQ(from_json.vocab_size(), from_ranks.vocab_size());
  for (const testing::GoldenCase& c : testing::golden_set("toy-cases.json").cases) {
    ASSERT_EQ(from_json.encode(c.text), c.ids) << testing::printable(c.text);
  }
}

// Trap: HF's converter lists only 1,134 special tokens (up to vision_reserved_1047). The model
// still has all 2,048, so the reasoning and generic reserved tokens must not disappear.
TEST(HfTokenizerJson, SpecialTokensMissingFromTheJsonStillExist) {
  testing::TemporaryDirectory directory;
  testing::write_file(directory / "tokenizer.json", hf_tokenizer_json_text(toy_vocabulary()));
  const Tokenizer tokenizer = Tokenizer::load(directory / "tokenizer.json");
  const std::int32_t base = toy_vocabulary().size();
  EXPECT_EQ(tokenizer.special_token_id("<|reasoning_thinking_start|>"), base + 1142);
  EXPECT_EQ(tokenizer.special_token_id("<|reserved_special_token_903|>"), base + 2047);
}

TEST(HfTokenizerJson, TruncatedJsonIsAClearErrorAtEveryCut) {
  const std::string text = hf_tokenizer_json_text(toy_vocabulary(), false, 20);
  for (std::size_t length = 0; length < text.size(); length += 97) {
    EXPECT_THROW(parse_hf_tokenizer_json(text.substr(0, length), "tokenizer.json"), Error)
        << length;
  }
  expect_rejected(text.substr(0, text.size() / 2), {"not valid JSON"});
  expect_rejected("[1, 2]", {"not a JSON object"});
}

TEST(HfTokenizerJson, RejectsModelsThatAreNotByteLevelBpe) {
  Json json = toy_json();
  json["model"]["type"] = "WordPiece";
  expect_rejected(json.dump(), {"WordPiece"});
  json = toy_json();
  json["model"]["byte_fallback"] = true;
  expect_rejected(json.dump(), {"byte_fallback"});
  json = toy_json();
  json.erase("model");
  expect_rejected(json.dump(), {"no \"model\""});
  json = toy_json();
  json["model"].erase("merges");
  expect_rejected(json.dump(), {"no \"merges\""});
}

TEST(HfTokenizerJson, RejectsAnotherSplitPattern) {
  Json json = toy_json();
  json["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\w+|\\s+";
  expect_rejected(json.dump(), {"o200k"});
}

TEST(HfTokenizerJson, RejectsVocabIdsWithHolesOrRepeats) {
  Json json = toy_json();
  json["model"]["vocab"]["Ġthe"] = 5000;
  expect_rejected(json.dump(), {"\"Ġthe\"", "5000"});
  json = toy_json();
  json["model"]["vocab"]["Ġthe"] = 0;
  expect_rejected(json.dump(), {"id 0"});
  json = toy_json();
  json["model"]["vocab"]["東"] = 366;
  json["model"]["vocab"].erase("ipython");
  expect_rejected(json.dump(), {"東", "byte-level alphabet"});
}

TEST(HfTokenizerJson, RejectsMergesThatDoNotMatchTheVocab) {
  Json json = toy_json();
  json["model"]["merges"].push_back("zz q");
  expect_rejected(json.dump(), {"merge", "zz", "not in the vocab"});
  json = toy_json();
  json["model"]["merges"][0] = "t h e";
  expect_rejected(json.dump(), {"merge 0", "one space"});
  json = toy_json();
  json["model"]["merges"][0] = 42;
  expect_rejected(json.dump(), {"merge 0"});
}

TEST(HfTokenizerJson, RejectsMergesOutOfIdOrder) {
  Json json = toy_json();
  Json& merges = json["model"]["merges"];
  std::swap(merges[0], merges[merges.size() - 1]);
  expect_rejected(json.dump(), {"order of the ids"});
}

TEST(HfTokenizerJson, RejectsTokensNoMergeMakes) {
  Json json = toy_json();
  Json& merges = json["model"]["merges"];
  merges.erase(merges.size() - 1);  // the last merge makes "ipython"
  expect_rejected(json.dump(), {"\"ipython\"", "not made by any merge"});
}

TEST(HfTokenizerJson, RejectsSpecialTokensThatDisagreeWithMeta) {
  testing::TemporaryDirectory directory;
  Json json = toy_json();
  json["added_tokens"][8]["content"] = "<|end_of_turn|>";
  testing::write_file(directory / "tokenizer.json", json.dump());
  try {
    Tokenizer::load(directory / "tokenizer.json");
    ADD_FAILURE() << "accepted a wrong special token";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("<|eot|>"), std::string::npos) << error.what();
  }
  json = toy_json();
  json["added_tokens"][0]["id"] = toy_vocabulary().size() + 2048;
  testing::write_file(directory / "tokenizer.json", json.dump());
  EXPECT_THROW(Tokenizer::load(directory / "tokenizer.json"), Error);
}

TEST(HfTokenizerJson, MetasVocabularyConvertedToJsonEncodesTheGoldenIds) {
  LLAMA4_TOKENIZER_OR_SKIP(path);
  testing::TemporaryDirectory directory;
  testing::write_file(directory / "tokenizer.json",
                      hf_tokenizer_json_text(testing::real_tokenizer().vocabulary(), true));
  const Tokenizer tokenizer = Tokenizer::load(directory / "tokenizer.json");
  EXPECT_EQ(tokenizer.vocab_size(), 202'048);
  const auto& cases = testing::golden_set("cases.json").cases;
  for (std::size_t i = 0; i < cases.size(); i += 5) {
    ASSERT_EQ(tokenizer.encode(cases[i].text), cases[i].ids) << testing::printable(cases[i].text);
  }
}

}  // namespace
}  // namespace llama4
