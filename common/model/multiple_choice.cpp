#include "common/model/multiple_choice.hpp"

#include "common/model/generation.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/json_document.hpp"
#include "common/tensors/json_lines.hpp"
#include "common/tensors/regular_file.hpp"

namespace llama4 {
namespace {

MultipleChoiceQuestion parse_question(const std::string& line, const std::string& where) {
  const nlohmann::json j = parse_json_document(line, where);
  if (!j.is_object()) fail(where, ": a question must be a JSON object");
  MultipleChoiceQuestion question;
  question.where = where;
  if (!j.contains("context") || !j["context"].is_string()) fail(where, ": no string \"context\"");
  question.context = j["context"].get<std::string>();
  if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].size() < 2) {
    fail(where, ": \"choices\" must be a list of at least 2 strings");
  }
  for (const nlohmann::json& choice : j["choices"]) {
    if (!choice.is_string() || choice.get<std::string>().empty()) {
      fail(where, ": every choice must be a non-empty string, got ", json_excerpt(choice));
    }
    question.choices.push_back(choice.get<std::string>());
  }
  const std::optional<std::int64_t> answer =
      j.contains("answer") ? json_integer(j["answer"]) : std::nullopt;
  if (!answer || *answer < 0 || *answer >= static_cast<std::int64_t>(question.choices.size())) {
    fail(where, ": \"answer\" must be the index of a choice, 0 to ", question.choices.size() - 1,
         j.contains("answer") ? ", got " + json_excerpt(j["answer"]) : std::string());
  }
  question.answer = *answer;
  return question;
}

}  // namespace

std::vector<MultipleChoiceQuestion> read_multiple_choice(const std::filesystem::path& path) {
  std::vector<MultipleChoiceQuestion> questions;
  for_each_json_line(read_regular_file(path), path,
                     [&](const std::string& line, const std::string& where) {
                       questions.push_back(parse_question(line, where));
                     });
  if (questions.empty()) fail(path, ": no questions (one JSON object per line)");
  return questions;
}

std::vector<double> choice_log_likelihoods(InferenceSession& session, const Tokenizer& tokenizer,
                                           const MultipleChoiceQuestion& question) {
  const std::vector<std::int32_t> context = tokenizer.encode(question.context, {.bos = true});
  std::vector<double> scores;
  for (const std::string& choice : question.choices) {
    const std::vector<std::int32_t> ending = tokenizer.encode(choice);
    std::vector<std::int32_t> ids = context;  // [BOS, context..., choice...]
    ids.insert(ids.end(), ending.begin(), ending.end());
    if (static_cast<std::int64_t>(ids.size()) > session.context_length()) {
      fail(question.where, ": context and choice are ", ids.size(),
           " tokens, more than the context of ", session.context_length(), " (--ctx)");
    }
    session.reset();
    const Tensor logits = session.forward(ids, LogitRows::all);  // [n, V]
    check_logits_are_finite(logits, 0);
    const auto width = static_cast<std::size_t>(logits.dim(1));
    double score = 0;
    // The row before each of the choice's tokens predicts it.
    for (std::size_t t = context.size(); t < ids.size(); ++t) {
      const std::span<const float> row(logits.data<float>() + (t - 1) * width, width);
      score -= negative_log_likelihood(row, ids[t]);
    }
    scores.push_back(score);
  }
  session.reset();
  return scores;
}

MultipleChoiceResult evaluate_multiple_choice(
    InferenceSession& session, const Tokenizer& tokenizer,
    std::span<const MultipleChoiceQuestion> questions,
    const std::function<void(const MultipleChoiceQuestion&, const std::vector<double>&)>&
        on_question) {
  MultipleChoiceResult result;
  double chance = 0;
  for (const MultipleChoiceQuestion& question : questions) {
    const std::vector<double> scores = choice_log_likelihoods(session, tokenizer, question);
    std::size_t best = 0, best_normalised = 0;
    const auto per_byte = [&](std::size_t i) {
      return scores[i] / static_cast<double>(question.choices[i].size());
    };
    for (std::size_t i = 1; i < scores.size(); ++i) {
      if (scores[i] > scores[best]) best = i;
      if (per_byte(i) > per_byte(best_normalised)) best_normalised = i;
    }
    const auto answer = static_cast<std::size_t>(question.answer);
    result.correct += best == answer;
    result.correct_normalised += best_normalised == answer;
    chance += 1.0 / static_cast<double>(question.choices.size());
    ++result.questions;
    if (on_question) on_question(question, scores);
  }
  result.chance = result.questions ? chance / static_cast<double>(result.questions) : 0.0;
  return result;
}

}  // namespace llama4
