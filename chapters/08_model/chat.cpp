// --chat: a conversation, one user line per turn, in Llama 4's chat format.
//
// With --prompt TEXT (or --prompt-file) it answers that one message and exits: only the assistant's
// reply goes to standard output, so a script can read it (chapter 13's fine-tuned model answers).
//
// The first turn renders the whole dialog (optional system message, then the user's line, then the
// assistant's header); later turns add only their own tokens. The KV cache carries the
// conversation from turn to turn, so each turn prefills only what is new.
#include <fcntl.h>
#include <unistd.h>

#include <iostream>

#include "chapters/08_model/modes.hpp"
#include "common/tensors/error.hpp"
#include "common/tokenizer/chat_format.hpp"
#include "common/tokenizer/utf8.hpp"
#include "common/tokenizer/utf8_stream_decoder.hpp"

namespace llama4 {

namespace {

// The first turn: the system message (if any), the user's message, the assistant's header.
std::vector<std::int32_t> first_turn_tokens(const Tokenizer& tokenizer,
                                            const ProgramOptions& options,
                                            const std::string& user) {
  std::vector<ChatMessage> dialog;
  if (options.system) dialog.push_back({.role = "system", .content = *options.system});
  dialog.push_back({.role = "user", .content = user});
  return encode_dialog(tokenizer, dialog, true);
}

// --chat --prompt TEXT: one answer, alone on standard output.
int answer_once(InferenceSession& session, const Tokenizer& tokenizer,
                const ProgramOptions& options) {
  if (const std::optional<std::size_t> bad = find_invalid_utf8(*options.prompt))
    fail("the prompt is not valid UTF-8 at byte ", *bad);
  Sampler sampler(options.sampling);
  Utf8StreamDecoder decoder(tokenizer);
  generate(session, sampler, first_turn_tokens(tokenizer, options, *options.prompt),
           options.max_new_tokens, tokenizer.stop_ids(), [&](std::int32_t id) {
             std::cout << decoder.push(id) << std::flush;
             return true;
           });
  std::cout << decoder.flush() << '\n';
  return 0;
}

}  // namespace

int chat(InferenceSession& session, const Tokenizer& tokenizer, const ProgramOptions& options) {
  if (options.prompt) return answer_once(session, tokenizer, options);
  Sampler sampler(options.sampling);
  std::vector<std::int32_t> history;  // every token of the conversation so far
  std::vector<std::int32_t> pending;  // tokens to feed before the next user message
  bool first_turn = true;
  std::string line;
  if (::fcntl(STDIN_FILENO, F_GETFD) < 0)
    fail("--chat reads its lines from standard input, which is closed");
  while (true) {
    std::cout << "\nuser> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (const std::optional<std::size_t> bad = find_invalid_utf8(line)) {
      // One bad line (a terminal in another encoding, a pasted binary) must not end the session.
      std::cerr << "(that line is not valid UTF-8 at byte " << *bad << "; nothing was sent)\n";
      continue;
    }
    std::vector<std::int32_t> turn = pending;
    if (first_turn) {
      const std::vector<std::int32_t> rendered = first_turn_tokens(tokenizer, options, line);
      turn.insert(turn.end(), rendered.begin(), rendered.end());
      first_turn = false;
    } else {
      encode_message(tokenizer, {.role = "user", .content = line}, turn);
      encode_header(tokenizer, "assistant", turn);
    }
    std::cout << "assistant> " << std::flush;
    Utf8StreamDecoder decoder(tokenizer);
    const GenerationResult result = generate(
        session, sampler, turn, options.max_new_tokens, tokenizer.stop_ids(),
        [&](std::int32_t id) {
          std::cout << decoder.push(id) << std::flush;
          return true;
        },
        history);
    std::cout << decoder.flush() << '\n';
    history.insert(history.end(), turn.begin(), turn.end());
    history.insert(history.end(), result.tokens.begin(), result.tokens.end());
    // The last token was sampled but not yet run through the model: it opens the next turn. If the
    // answer was cut off without a stop token, close the turn with <|eot|> ourselves.
    pending = {result.reason == StopReason::stop_token ? result.tokens.back() : tokenizer.eot_id()};
    if (result.reason == StopReason::context_full ||
        session.position() + 2 >= session.context_length()) {
      std::cerr << "(the context of " << session.context_length()
                << " tokens is full; ending the chat)\n";
      break;
    }
  }
  return 0;
}

}  // namespace llama4
