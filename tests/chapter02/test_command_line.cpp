// Chapter 02: the chapter02_tokenizer command line, for learners and scripts.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/chapter02/tokenizer_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using Json = nlohmann::json;

struct ProgramResult {
  int status = -1;
  std::string out;
  std::string err;
};

// Runs the chapter's executable with the hand-made vocabulary (--toy) unless told otherwise.
ProgramResult run(const std::string& arguments, const testing::TemporaryDirectory& directory,
                  const std::string& environment = "") {
  const std::string command = environment + " " + std::string(LLAMA4_CHAPTER02_EXECUTABLE) + " " +
                              arguments + " > " + (directory / "out").string() + " 2> " +
                              (directory / "err").string();
  ProgramResult result;
  const int raw = std::system(command.c_str());
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  result.out = testing::read_file(directory / "out");
  result.err = testing::read_file(directory / "err");
  return result;
}

TEST(CommandLine, EncodeJsonPrintsOneIdArrayPerString) {
  testing::TemporaryDirectory directory;
  testing::write_file(directory / "in.json", R"(["Hello world", "", "a<|eot|>b"])");
  const std::string in = (directory / "in.json").string();
  const Tokenizer& tokenizer = testing::toy_tokenizer();

  ProgramResult result = run("--toy --encode-json " + in, directory);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_EQ(Json::parse(result.out),
            Json({tokenizer.encode("Hello world"), Json::array(), tokenizer.encode("a<|eot|>b")}));

  result = run("--toy --encode-json " + in + " --bos --special", directory);
  ASSERT_EQ(result.status, 0) << result.err;
  const EncodeOptions options{.bos = true, .allow_special = true};
  EXPECT_EQ(Json::parse(result.out),
            Json({tokenizer.encode("Hello world", options), tokenizer.encode("", options),
                  tokenizer.encode("a<|eot|>b", options)}));
}

TEST(CommandLine, DecodeJsonPrintsOneStringPerIdArray) {
  testing::TemporaryDirectory directory;
  const Tokenizer& tokenizer = testing::toy_tokenizer();
  const Json ids = {tokenizer.encode("café 東京"), Json::array(), {tokenizer.eot_id()}, {0xE6}};
  testing::write_file(directory / "ids.json", ids.dump());
  const ProgramResult result =
      run("--toy --decode-json " + (directory / "ids.json").string(), directory);
  ASSERT_EQ(result.status, 0) << result.err;
  // Half a character cannot go into a JSON string: it becomes U+FFFD.
  EXPECT_EQ(Json::parse(result.out), Json({"café 東京", "", "<|eot|>", "\uFFFD"}));
}

TEST(CommandLine, ExplainShowsPiecesMergesAndIds) {
  testing::TemporaryDirectory directory;
  const ProgramResult result = run("--toy --explain 'the lowers'", directory);
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_NE(result.out.find("piece \"the\""), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("merge \"e\" + \"r\""), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("ids ["), std::string::npos) << result.out;
}

TEST(CommandLine, WithNoArgumentsRunsTheTourOnTheHandMadeVocabulary) {
  testing::TemporaryDirectory directory;
  const ProgramResult result =
      run("", directory, "LLAMA4_TOKENIZER=" + (directory / "absent.model").string());
  ASSERT_EQ(result.status, 0) << result.err;
  EXPECT_NE(result.out.find("hand-made vocabulary"), std::string::npos);
  EXPECT_NE(result.out.find("The chat format"), std::string::npos);
  EXPECT_NE(result.out.find("Streaming decode"), std::string::npos);
}

TEST(CommandLine, BadInputIsAClearErrorNotACrash) {
  testing::TemporaryDirectory directory;
  testing::write_file(directory / "broken.json", "[\"unterminated");
  testing::write_file(directory / "numbers.json", "[1, 2]");
  testing::write_file(directory / "ids.json", "[[1, 99999999]]");
  testing::write_file(directory / "bad_utf8.json", "[\"a\xFF\"]");
  testing::write_file(directory / "tokenizer.model", "not base64! 0\n");
  const std::string d = directory.path().string() + "/";
  const std::pair<std::string, const char*> cases[] = {
      {"--toy --encode-json " + d + "broken.json", "not valid JSON"},
      {"--toy --encode-json " + d + "numbers.json", "not a string"},
      {"--toy --encode-json " + d + "missing.json", "cannot open"},
      {"--toy --decode-json " + d + "ids.json", "99999999"},
      {"--toy --decode-json " + d + "numbers.json", "not an array"},
      {"--toy --encode-json " + d + "bad_utf8.json", "not valid JSON"},
      {"--tokenizer " + d + "tokenizer.model --explain hi", "tokenizer.model:1"},
      {"--tokenizer " + d + "nothing.model --explain hi", "nothing.model"},
      {"--toy --explain \"$(printf 'a\\377')\"", "not valid UTF-8 at byte offset 1"},
  };
  for (const auto& [arguments, expected] : cases) {
    const ProgramResult result = run(arguments, directory);
    EXPECT_EQ(result.status, 1) << arguments << "\n" << result.err;
    EXPECT_NE(result.err.find("error: "), std::string::npos) << arguments << "\n" << result.err;
    EXPECT_NE(result.err.find(expected), std::string::npos) << arguments << "\n" << result.err;
  }
  EXPECT_EQ(run("--frobnicate", directory).status, 2);
  EXPECT_EQ(run("--encode-json", directory).status, 2);
}

}  // namespace
}  // namespace llama4
