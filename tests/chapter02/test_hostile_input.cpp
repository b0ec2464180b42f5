// Hostile input to chapter 02: tokenizer files and the chapter02_tokenizer command line. Each test
// is one class of attack (numbered as in the project's list); each must end in a clear error, never
// a crash, a hang or a silently different reading.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include <nlohmann/json.hpp>

#include "common/tensors/error.hpp"
#include "common/tokenizer/hf_tokenizer_json.hpp"
#include "common/tokenizer/tokenizer.hpp"
#include "common/tokenizer/toy_vocabulary.hpp"
#include "tests/chapter02/tokenizer_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::run_command;
using testing::TemporaryDirectory;
using ::testing::ThrowsMessage;
using Json = nlohmann::json;

// The toy tokenizer.json with the value of `field` (at the top level, or inside "model") replaced
// by the raw JSON text `value`.
std::string tokenizer_json_with(const std::string& field, const std::string& value,
                                bool in_model = false) {
  Json json = Json::parse(testing::hf_tokenizer_json_text(toy_vocabulary()));
  (in_model ? json["model"] : json)[field] = "@@PLACEHOLDER@@";
  std::string text = json.dump();
  text.replace(text.find("\"@@PLACEHOLDER@@\""), 17, value);
  return text;
}

void expect_rejected(const std::string& text, const std::string& fragment) {
  EXPECT_THAT([&] { parse_hf_tokenizer_json(text, "tokenizer.json"); },
              ThrowsMessage<Error>(AllOf(HasSubstr("tokenizer.json"), HasSubstr(fragment))));
}

std::string chapter02() {
  return LLAMA4_CHAPTER02_EXECUTABLE;
}

// --- 2. Deep nesting in the values tokenizer.json's reader looks at (pre_tokenizer was copied
// recursively, merges and added tokens printed recursively) and in --decode-json's input.
TEST(HostileInput, DeeplyNestedTokenizerValuesAreRefused) {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  std::string deep_object;
  for (int i = 0; i < 200000; ++i) deep_object += "{\"type\":";
  deep_object += "1" + std::string(200000, '}');
  expect_rejected(tokenizer_json_with("pre_tokenizer", deep), "nest more than 64 levels");
  expect_rejected(tokenizer_json_with("merges", "[" + deep + "]", true),
                  "nest more than 64 levels deep in \"model.merges[]");
  expect_rejected(tokenizer_json_with("added_tokens", deep), "in \"added_tokens");
  expect_rejected(tokenizer_json_with("pre_tokenizer", deep_object),
                  "nest more than 64 levels deep in \"pre_tokenizer.type.type.");

  TemporaryDirectory directory;
  testing::write_file(directory / "ids.json", deep);
  const testing::CommandResult result =
      run_command(chapter02() + " --toy --decode-json " + (directory / "ids.json").string(), true);
  EXPECT_EQ(result.status, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("ids.json: values nest more than 64 levels deep"));
}

// --- 7. Ambiguous tokenizer files: a vocab key twice, ids of 2^63 and more.
TEST(HostileInput, AmbiguousTokenizerFilesAreRefused) {
  std::string text = testing::hf_tokenizer_json_text(toy_vocabulary());
  const std::size_t vocab = text.find("\"vocab\":{");
  ASSERT_NE(vocab, std::string::npos);
  text.insert(vocab + 9, "\"a\":0,");  // "a" is in the toy vocabulary too, with another id
  expect_rejected(text, "key \"a\" is given twice in \"model.vocab\"");

  expect_rejected(
      tokenizer_json_with("added_tokens", R"([{"id": 18446744073709551615, "content": "x"}])"),
      "added token id 18446744073709551615 is out of range");

  TemporaryDirectory directory;
  testing::write_file(directory / "ids.json", "[[1, 18446744073709551615]]");
  const testing::CommandResult result =
      run_command(chapter02() + " --toy --decode-json " + (directory / "ids.json").string(), true);
  EXPECT_EQ(result.status, 1) << result.output;
  EXPECT_THAT(result.output, HasSubstr("holds 18446744073709551615, which is not a token id"));
  testing::write_file(directory / "dup.json", R"(["a", {"x": 1, "x": 2}])");
  EXPECT_THAT(
      run_command(chapter02() + " --toy --decode-json " + (directory / "dup.json").string(), true)
          .output,
      HasSubstr("key \"x\" is given twice"));
}

// --- 8. A FIFO as the tokenizer, standard input closed, a directory as input: clear errors, no
// hang and no empty text.
TEST(HostileInput, SpecialFilesAndClosedInputAreRefused) {
  TemporaryDirectory directory;
  const auto fifo = directory / "tokenizer.model";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT([&] { Tokenizer::load(fifo); },
              ThrowsMessage<Error>(HasSubstr("is not a regular file (a FIFO)")));
  EXPECT_THAT([&] { load_hf_tokenizer_json(fifo); },
              ThrowsMessage<Error>(HasSubstr("is not a regular file (a FIFO)")));

  const testing::CommandResult closed =
      run_command(chapter02() + " --toy --encode-json - <&-", true);
  EXPECT_EQ(closed.status, 1) << closed.output;
  EXPECT_THAT(closed.output, HasSubstr("error: standard input is closed"));

  const testing::CommandResult folder =
      run_command(chapter02() + " --toy --encode-json " + directory.path().string(), true);
  EXPECT_EQ(folder.status, 1) << folder.output;
  EXPECT_THAT(folder.output, HasSubstr("is not a regular file (a directory)"));

  // --write-toy-vocabulary into a directory that does not exist: the reason, and no file.
  const testing::CommandResult unwritable = run_command(
      chapter02() + " --write-toy-vocabulary " + (directory / "no" / "toy.tiktoken").string(),
      true);
  EXPECT_EQ(unwritable.status, 1) << unwritable.output;
  EXPECT_THAT(unwritable.output, HasSubstr("No such file or directory"));
}

}  // namespace
}  // namespace llama4
