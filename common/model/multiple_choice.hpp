// Multiple-choice evaluation by log-likelihood: which ending does the model find most likely?
//
// The method of EleutherAI's lm-evaluation-harness, used for MMLU, HellaSwag, ARC and the like:
// for a question with a context and n possible continuations, run context + choice through the
// model and add up log p of the choice's tokens,
//
//     score(choice) = Σ over the choice's tokens t of log p(t | BOS, context, the choice before t)
//
// and the model's answer is the choice with the highest score ("accuracy"). Long choices are
// penalised by having more tokens to pay for, so a second answer divides each score by the
// choice's length in bytes ("length-normalised accuracy", lm-evaluation-harness's acc_norm).
// Nothing is generated and nothing is sampled: the figure is deterministic.
//
// The questions come as JSON Lines, one object per line:
//
//     {"context": "And God said, Let there be", "choices": [" light", " night"], "answer": 0}
//
// (other keys, such as "source", are ignored). The context is encoded with BOS, each choice
// without, and the two id lists are joined; a choice's leading space belongs to the choice.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/model/inference_session.hpp"
#include "common/tokenizer/tokenizer.hpp"

namespace llama4 {

struct MultipleChoiceQuestion {
  std::string context;
  std::vector<std::string> choices;  // at least 2, none empty
  std::int64_t answer = 0;           // index of the right choice
  std::string where;                 // "FILE:LINE", for messages
};

// Reads a JSON Lines file. An Error naming the file, the line and the field for anything else:
// not JSON, a missing or mistyped field, fewer than 2 choices, an empty choice, an answer out of
// range, or no question at all. Blank lines are skipped.
std::vector<MultipleChoiceQuestion> read_multiple_choice(const std::filesystem::path& path);

// score(choice) of every choice of one question (see above), in nats (<= 0). An Error naming the
// question when context + choice does not fit in the session's context.
std::vector<double> choice_log_likelihoods(InferenceSession& session, const Tokenizer& tokenizer,
                                           const MultipleChoiceQuestion& question);

struct MultipleChoiceResult {
  std::int64_t questions = 0;
  std::int64_t correct = 0;             // highest log-likelihood is the answer
  std::int64_t correct_normalised = 0;  // highest log-likelihood per byte is the answer
  double chance = 0;                    // the expected accuracy of a guess: mean of 1 / choices
  double accuracy() const { return questions ? double(correct) / double(questions) : 0.0; }
  double normalised_accuracy() const {
    return questions ? double(correct_normalised) / double(questions) : 0.0;
  }
};

// Every question; `on_question` (optional) sees each question's scores as they come.
MultipleChoiceResult evaluate_multiple_choice(
    InferenceSession& session, const Tokenizer& tokenizer,
    std::span<const MultipleChoiceQuestion> questions,
    const std::function<void(const MultipleChoiceQuestion&, const std::vector<double>&)>&
        on_question = {});

}  // namespace llama4
