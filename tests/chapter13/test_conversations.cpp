// Chapter 13's data: conversation files (and their errors, each naming the line), the loss mask of
// a tokenized conversation, and packing conversations into training sequences.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/debugging/data_paths.hpp"
#include "common/finetuning/conversation_file.hpp"
#include "common/finetuning/packing.hpp"
#include "common/finetuning/supervised_example.hpp"
#include "common/tensors/error.hpp"
#include "common/tokenizer/tokenizer.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using testing::TemporaryDirectory;
using testing::write_file;

const char* kGoodLine =
    R"({"messages": [{"role": "user", "content": "Which book? In the beginning"}, )"
    R"({"role": "assistant", "content": "Genesis"}]})";

// The error of reading `text` as a conversation file, or "" if it reads.
std::string error_of(const std::string& text, TemporaryDirectory& directory) {
  write_file(directory / "data.jsonl", text);
  try {
    read_conversation_file(directory / "data.jsonl");
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(ConversationFile, ReadsMessagesAndSkipsBlankLines) {
  TemporaryDirectory directory;
  write_file(directory / "data.jsonl", std::string(kGoodLine) + "\n\n" + kGoodLine + "\n");
  const std::vector<Conversation> conversations = read_conversation_file(directory / "data.jsonl");
  ASSERT_EQ(conversations.size(), 2u);
  ASSERT_EQ(conversations[1].messages.size(), 2u);
  EXPECT_EQ(conversations[1].messages[0].role, "user");
  EXPECT_EQ(conversations[1].messages[1].content, "Genesis");
  EXPECT_NE(conversations[1].where.find("data.jsonl:3"), std::string::npos);
}

struct MalformedCase {
  const char* name;
  std::string second_line;
  const char* expected;  // in the message, after "data.jsonl:2"
};

class MalformedConversations : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedConversations, AreAnErrorNamingTheLine) {
  TemporaryDirectory directory;
  const std::string message =
      error_of(std::string(kGoodLine) + "\n" + GetParam().second_line, directory);
  EXPECT_NE(message.find("data.jsonl:2"), std::string::npos) << message;
  EXPECT_NE(message.find(GetParam().expected), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Chapter13, MalformedConversations,
    ::testing::Values(
        MalformedCase{"MissingRole", R"({"messages": [{"content": "hi"}]})", "no string \"role\""},
        MalformedCase{"MissingContent", R"({"messages": [{"role": "user"}]})",
                      "no string \"content\""},
        MalformedCase{
            "UnknownRole",
            R"({"messages": [{"role": "narrator", "content": "x"}, {"role": "assistant", "content": "y"}]})",
            "role \"narrator\""},
        MalformedCase{
            "NoAssistantAtTheEnd",
            R"({"messages": [{"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}]})",
            "the last message must be the assistant's"},
        MalformedCase{"NotJson", R"({"messages": [)", "data.jsonl:2"},
        MalformedCase{"NoMessagesList", R"({"conversation": []})", "\"messages\" list"},
        MalformedCase{"ContentNotAString", R"({"messages": [{"role": "assistant", "content": 7}]})",
                      "no string \"content\""}),
    [](const ::testing::TestParamInfo<MalformedCase>& test) { return test.param.name; });

TEST(ConversationFile, AnEmptyOrNonUtf8FileIsAnErrorNamingIt) {
  TemporaryDirectory directory;
  EXPECT_NE(error_of("\n  \n", directory).find("no conversations"), std::string::npos);
  EXPECT_NE(error_of(std::string(kGoodLine) + "\n\xff\n", directory).find("UTF-8 at byte offset"),
            std::string::npos);
}

// The trained model's tokenizer (in the repository): the chat format's special tokens and ranks.
Tokenizer trained_tokenizer() {
  return Tokenizer::load(checkpoint_tokenizer_path(trained_model_dir()));
}

TEST(LossMask, OnlyTheAssistantsWordsAndItsEndOfTurnAreTrained) {
  const Tokenizer tokenizer = trained_tokenizer();
  const Conversation conversation = parse_conversation(
      R"({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Which book?"}, {"role": "assistant", "content": "Genesis"}]})",
      "inline");
  const SupervisedExample example = tokenize_conversation(tokenizer, conversation);
  ASSERT_EQ(example.tokens.size(), example.trained.size());
  // The trained tokens, decoded, are exactly the answer and its <|eot|>.
  std::vector<std::int32_t> trained;
  for (std::size_t i = 0; i < example.tokens.size(); ++i) {
    if (example.trained[i]) trained.push_back(example.tokens[i]);
  }
  EXPECT_EQ(tokenizer.decode(trained), "Genesis<|eot|>");
  EXPECT_EQ(example.tokens.back(), tokenizer.eot_id());
  // ... and the tokens are those of the chat format itself (no assistant header to open).
  EXPECT_EQ(example.tokens, encode_dialog(tokenizer, conversation.messages, false));
}

SupervisedExample example_of(std::vector<std::int32_t> tokens, std::vector<std::uint8_t> trained) {
  return SupervisedExample{"test", std::move(tokens), std::move(trained)};
}

TEST(Packing, ConversationsFollowEachOtherWithPositionsRestartingAndTheirOwnTargetsTrained) {
  const std::vector<SupervisedExample> examples = {
      example_of({1, 10, 11, 12}, {0, 0, 1, 1}),  // 4 tokens
      example_of({1, 20, 21}, {0, 1, 1}),         // 3 tokens
      example_of({1, 30, 31, 32, 33}, {0, 0, 0, 1, 1})};
  const PackedSequences packed = pack_examples(examples, /*tokens=*/7, /*pad_id=*/0);
  ASSERT_EQ(packed.sequences(), 2);  // 4 + 3 fill 8 slots; the third opens a second sequence
  EXPECT_EQ(packed.ids, (std::vector<std::int32_t>{1, 10, 11, 12, 1, 20, 21, 0,  //
                                                   1, 30, 31, 32, 33, 0, 0, 0}));
  EXPECT_EQ(packed.positions, (std::vector<std::int32_t>{0, 1, 2, 3, 0, 1, 2,  //
                                                         0, 1, 2, 3, 4, 0, 1}));
  // Input k is trained when token k + 1 of ITS conversation is; a conversation's last input
  // (which would predict the next one's <|begin_of_text|>) and the padding are not.
  EXPECT_EQ(packed.loss_mask, (std::vector<std::uint8_t>{0, 1, 1, 0, 1, 1, 0,  //
                                                         0, 0, 1, 1, 0, 0, 0}));
  EXPECT_EQ(packed.trained_targets(), 6);
}

TEST(Packing, AConversationLongerThanASequenceIsAnErrorNamingIt) {
  const std::vector<SupervisedExample> examples = {SupervisedExample{
      "chat.jsonl:7", std::vector<std::int32_t>(10, 5), std::vector<std::uint8_t>(10, 1)}};
  try {
    pack_examples(examples, 8, 0);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("chat.jsonl:7"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("10 tokens"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace llama4
