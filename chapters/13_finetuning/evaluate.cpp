// --evaluate: how well a model answers held-out conversations, in the figures of chapter 13.
//
// Each conversation's user message is rendered in the chat format with the assistant's header
// after it, exactly as chapter08_model --chat renders it, and the model answers greedily (the most
// likely token each time) until it writes a stop token or spends the token budget. Then, by task:
//
//   rewrite    chrF of the answers against the World English Bible's verses (chrf.hpp), beside the
//              copy baseline: chrF of the King James input itself, an answer that changes nothing
//   book       exact answers, beside the majority baseline: always naming the most frequent book
//   continue   chrF of the answers against the rest of the verse
//   every task the share of answers the model closed with <|eot|> within the budget, and the
//              loops: answers that did not close and whose eight words before the last already
//              occur earlier in the same answer (answer_loop.hpp; a greedy model that copies
//              well can copy itself)
//
// With stop_loops an answer is stopped as soon as it ends in a loop, and scored without the
// repeated words: what a chat program that watches for loops would show. Such answers still count
// as loops, and not as closed.
#include <algorithm>
#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "chapters/13_finetuning/finetune.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/finetuning/adapted_model.hpp"
#include "common/finetuning/answer_loop.hpp"
#include "common/finetuning/chrf.hpp"
#include "common/finetuning/conversation_file.hpp"
#include "common/model/generation.hpp"
#include "common/tensors/atomic_file.hpp"
#include "common/tensors/error.hpp"
#include "common/tokenizer/chat_format.hpp"
#include "common/tokenizer/tokenizer.hpp"

namespace llama4 {
namespace {

constexpr std::string_view kRewritePrompt = "Rewrite in modern English: ";

// `per_task` conversations of each task, spread evenly over the file (which runs book by book).
std::map<std::string, std::vector<Conversation>> chosen_conversations(
    const std::vector<Conversation>& conversations, std::int64_t per_task) {
  std::map<std::string, std::vector<Conversation>> by_task;
  for (const Conversation& conversation : conversations) {
    if (conversation.task.empty()) {
      fail(conversation.where, ": no \"task\"; --evaluate reads make_instructions.py's files");
    }
    by_task[conversation.task].push_back(conversation);
  }
  for (auto& [task, all] : by_task) {
    std::vector<Conversation> chosen;
    const std::size_t count = std::min(all.size(), static_cast<std::size_t>(per_task));
    for (std::size_t i = 0; i < count; ++i) chosen.push_back(all[i * all.size() / count]);
    all = std::move(chosen);
  }
  return by_task;
}

struct Answer {
  std::string text;
  bool closed = false;  // ended by <|eot|> within the budget
  bool loop = false;    // ends in a loop (or was stopped at one, with stop_loops)
  std::int64_t tokens = 0;
};

Answer answer(InferenceSession& session, const Tokenizer& tokenizer,
              const Conversation& conversation, std::int64_t budget, bool stop_loops) {
  const std::vector<ChatMessage> question(conversation.messages.begin(),
                                          conversation.messages.end() - 1);
  const std::vector<std::int32_t> prompt = encode_dialog(tokenizer, question, true);
  session.reset();
  Sampler greedy(SamplingOptions{});
  std::vector<std::int32_t> so_far;
  const auto on_token = [&](std::int32_t token) {
    if (!stop_loops) return true;
    so_far.push_back(token);
    return !ends_in_a_loop(tokenizer.decode(so_far));
  };
  GenerationResult result =
      generate(session, greedy, prompt, budget, tokenizer.stop_ids(), on_token);
  Answer out;
  out.closed =
      result.reason == StopReason::stop_token && result.tokens.back() == tokenizer.eot_id();
  if (result.reason == StopReason::stop_token) result.tokens.pop_back();
  out.tokens = std::ssize(result.tokens);
  out.text = tokenizer.decode(result.tokens);
  out.loop = !out.closed && ends_in_a_loop(out.text);
  if (result.reason == StopReason::callback) out.text = std::string(before_the_loop(out.text));
  return out;
}

std::string trimmed(const std::string& text) {
  const std::size_t first = text.find_first_not_of(" \n");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \n") - first + 1);
}

}  // namespace

int evaluate(const EvaluateOptions& options) {
  Model model = Model::load(options.model);
  if (options.adapter) model = with_adapter(model, *options.adapter);
  const std::filesystem::path tokenizer_path = checkpoint_tokenizer_path(options.model);
  if (tokenizer_path.empty()) fail(options.model, " holds no tokenizer");
  const Tokenizer tokenizer = Tokenizer::load(tokenizer_path);
  const auto by_task = chosen_conversations(read_conversation_file(options.data), options.per_task);
  std::int64_t total = 0, done = 0;
  for (const auto& [task, conversations] : by_task) total += std::ssize(conversations);

  const std::int64_t context = std::min<std::int64_t>(model.config().max_position_embeddings, 1024);
  CpuSession session(std::move(model), context);
  nlohmann::json answers = nlohmann::json::array();
  std::printf("%-9s %6s %10s %10s %12s %6s %8s\n", "task", "count", "score", "baseline",
              "closed <|eot|>", "loops", "tokens");
  for (const auto& [task, conversations] : by_task) {
    ChrfScore chrf_answers, chrf_copy;
    std::map<std::string, std::int64_t> expected_counts;
    std::int64_t exact = 0, closed = 0, loops = 0, tokens = 0;
    for (const Conversation& conversation : conversations) {
      const std::string& expected = conversation.messages.back().content;
      const std::string& question = conversation.messages[conversation.messages.size() - 2].content;
      const Answer a =
          answer(session, tokenizer, conversation, options.max_new_tokens, options.stop_loops);
      chrf_answers.add(a.text, expected);
      if (question.starts_with(kRewritePrompt))
        chrf_copy.add(question.substr(kRewritePrompt.size()), expected);
      exact += trimmed(a.text) == expected;
      closed += a.closed;
      loops += a.loop;
      tokens += a.tokens;
      ++expected_counts[expected];
      answers.push_back({{"where", conversation.where},
                         {"task", task},
                         {"answer", a.text},
                         {"expected", expected},
                         {"closed", a.closed},
                         {"loop", a.loop}});
      if (++done % 100 == 0 || done == total)
        std::fprintf(stderr, "answered %lld of %lld\n", static_cast<long long>(done),
                     static_cast<long long>(total));
    }
    const double n = static_cast<double>(conversations.size());
    std::int64_t majority = 0;
    for (const auto& [name, count] : expected_counts) majority = std::max(majority, count);
    // book: accuracy against always answering the most frequent book; the others: chrF.
    const bool is_book = task == "book";
    const double score = is_book ? 100.0 * static_cast<double>(exact) / n : chrf_answers.score();
    char baseline[32] = "-";
    if (is_book)
      std::snprintf(baseline, sizeof baseline, "%.1f%%", 100.0 * static_cast<double>(majority) / n);
    if (task == "rewrite") std::snprintf(baseline, sizeof baseline, "%.1f", chrf_copy.score());
    std::printf("%-9s %6zu %9.1f%s %10s %13.1f%% %6lld %8.1f\n", task.c_str(), conversations.size(),
                score, is_book ? "%" : " ", baseline, 100.0 * static_cast<double>(closed) / n,
                static_cast<long long>(loops), static_cast<double>(tokens) / n);
  }
  std::printf(
      "score: chrF (rewrite, continue) or exact answers (book); baseline: chrF of copying the "
      "input (rewrite) or always naming the most frequent book (book); loops: answers not closed "
      "whose eight words before the last occur earlier in them; tokens: mean answer length\n");
  if (!options.answers.empty()) {
    std::string lines;
    for (const nlohmann::json& a : answers) lines += a.dump() + "\n";
    write_file_atomically(options.answers, lines);
  }
  return 0;
}

}  // namespace llama4
