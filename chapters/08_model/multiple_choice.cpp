// --multiple-choice FILE.jsonl: which ending of each question the model finds most likely.
//
// The evaluation itself is common/model/multiple_choice.hpp (the method of lm-evaluation-harness,
// which scores MMLU-style sets the same way). Prints the first questions with the model's scores,
// so a reader sees what is being compared, then the accuracy against chance.
#include <cstdio>
#include <iostream>

#include "chapters/08_model/modes.hpp"
#include "common/model/multiple_choice.hpp"

namespace llama4 {

int answer_multiple_choice(InferenceSession& session, const Tokenizer& tokenizer,
                           const std::string& path) {
  const std::vector<MultipleChoiceQuestion> questions = read_multiple_choice(path);
  std::int64_t shown = 0;
  const auto show = [&](const MultipleChoiceQuestion& question, const std::vector<double>& scores) {
    if (shown++ >= 2) return;
    const std::string& context = question.context;
    std::cout << question.where << ": ..."
              << context.substr(context.size() > 60 ? context.size() - 60 : 0) << "\n";
    for (std::size_t i = 0; i < scores.size(); ++i) {
      std::printf("  %s %-16s log p = %8.3f\n",
                  static_cast<std::int64_t>(i) == question.answer ? "*" : " ",
                  ("\"" + question.choices[i] + "\"").c_str(), scores[i]);
    }
    std::fflush(stdout);
  };
  const MultipleChoiceResult result = evaluate_multiple_choice(session, tokenizer, questions, show);
  std::printf("accuracy %.3f (%lld of %lld); length-normalised %.3f; chance %.3f\n",
              result.accuracy(), static_cast<long long>(result.correct),
              static_cast<long long>(result.questions), result.normalised_accuracy(),
              result.chance);
  return 0;
}

}  // namespace llama4
