// The multiple-choice evaluation (common/model/multiple_choice.hpp): its reader refuses what it
// cannot score, naming the file, the line and the field; its scores are log p of the choice's
// tokens, checked against the session's own logits on the golden tiny model. (Chapter 11's tests
// show the trained model beating chance with it, and random weights not.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/debugging/data_paths.hpp"
#include "common/model/generation.hpp"
#include "common/model/multiple_choice.hpp"
#include "common/tensors/error.hpp"
#include "tests/chapter02/tokenizer_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace llama4 {
namespace {

using ::testing::HasSubstr;
using testing::TemporaryDirectory;

TEST(MultipleChoice, ReadsQuestionsAndSkipsBlankLines) {
  const TemporaryDirectory directory;
  testing::write_file(directory / "q.jsonl",
                      R"({"context": "a", "choices": [" b", " c"], "answer": 1, "source": "x"})"
                      "\n\n"
                      R"({"context": "", "choices": ["d", "e", "f"], "answer": 0})"
                      "\n");
  const std::vector<MultipleChoiceQuestion> questions = read_multiple_choice(directory / "q.jsonl");
  ASSERT_EQ(questions.size(), 2u);
  EXPECT_EQ(questions[0].choices, (std::vector<std::string>{" b", " c"}));
  EXPECT_EQ(questions[0].answer, 1);
  EXPECT_THAT(questions[1].where, HasSubstr("q.jsonl:3"));
}

TEST(MultipleChoice, AQuestionItCannotScoreIsAnErrorNamingTheLineAndTheField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "q.jsonl:1"},
      {R"(["a list"])", "JSON object"},
      {R"({"choices": [" a", " b"], "answer": 0})", "\"context\""},
      {R"({"context": "x", "choices": [" a"], "answer": 0})", "at least 2"},
      {R"({"context": "x", "choices": [" a", ""], "answer": 0})", "non-empty"},
      {R"({"context": "x", "choices": [" a", 5], "answer": 0})", "non-empty string, got 5"},
      {R"({"context": "x", "choices": [" a", " b"], "answer": 2})", "0 to 1, got 2"},
      {R"({"context": "x", "choices": [" a", " b"], "answer": 0.5})", "\"answer\""},
      {R"({"context": "x", "choices": [" a", " b"]})", "\"answer\""},
      {R"({"context": "x", "context": "y", "choices": [" a", " b"], "answer": 0})", "context"},
      {"", "no questions"},
  };
  for (const auto& [line, expected] : cases) {
    const TemporaryDirectory directory;
    testing::write_file(directory / "q.jsonl", line + "\n");
    EXPECT_THAT([&] { read_multiple_choice(directory / "q.jsonl"); },
                ::testing::ThrowsMessage<Error>(HasSubstr(expected)))
        << line;
  }
}

// The score of a choice is Σ log p of its tokens, each from the row before it.
TEST(MultipleChoice, ScoresAreTheLogProbabilitiesOfTheChoicesTokens) {
  const Tokenizer& tokenizer = testing::toy_tokenizer();
  CpuSession session(Model::load(golden_model_dir("tiny")), 64);
  MultipleChoiceQuestion question{"the cat", {" sat", " on the mat"}, 0, "here"};
  const std::vector<double> scores = choice_log_likelihoods(session, tokenizer, question);
  ASSERT_EQ(scores.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    std::vector<std::int32_t> ids = tokenizer.encode(question.context, {.bos = true});
    const std::size_t context = ids.size();
    const std::vector<std::int32_t> ending = tokenizer.encode(question.choices[i]);
    ids.insert(ids.end(), ending.begin(), ending.end());
    session.reset();
    const Tensor logits = session.forward(ids, LogitRows::all, nullptr);
    double expected = 0;
    for (std::size_t t = context; t < ids.size(); ++t) {
      const auto* row = logits.data<float>() + (t - 1) * static_cast<std::size_t>(logits.dim(1));
      expected -= negative_log_likelihood({row, static_cast<std::size_t>(logits.dim(1))}, ids[t]);
    }
    EXPECT_NEAR(scores[i], expected, 1e-9) << question.choices[i];
    EXPECT_LT(scores[i], 0.0);
  }
  // Too long for the context: an Error naming the question.
  CpuSession small(Model::load(golden_model_dir("tiny")), 2);
  EXPECT_THAT([&] { choice_log_likelihoods(small, tokenizer, question); },
              ::testing::ThrowsMessage<Error>(HasSubstr("here: context and choice are")));
}

}  // namespace
}  // namespace llama4
