// The Llama 4 chat format: a dialog rendered to tokens, as Meta's ChatFormat does it.
//
//   <|begin_of_text|>
//   <|header_start|>system<|header_end|>\n\nYou are a helpful assistant<|eot|>
//   <|header_start|>user<|header_end|>\n\nWho are you?<|eot|>
//   <|header_start|>assistant<|header_end|>\n\n            <- the model writes from here
//
// Each message is a header (the role name between header tokens, then "\n\n"), the content, and a
// terminator: <|eot|> ("end of turn") or <|eom|> ("end of message": the turn goes on after a tool
// runs). The open assistant header at the end asks the model for the next turn.
//
// Details that matter for matching Meta's ids:
//   - the role, "\n\n" and the content are encoded separately (no BPE merge across them);
//   - the content is not trimmed, and is encoded with special tokens NOT allowed: a user who types
//     "<|eot|>" gets the plain-text tokens for it, not an end of turn (prompt injection defence);
//   - role "tool" is written "ipython" in the header, and a tool message always ends in <|eom|>;
//     an assistant message ends in <|eom|> when it stopped there (end_of_message), e.g. after a
//     tool call. (HF's chat template ends tool turns with <|eot|> instead; we follow Meta.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/tokenizer/tokenizer.hpp"

namespace llama4 {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", or "tool" (alias "ipython")
  std::string content;
  bool end_of_message = false;  // assistant only: the turn ended with <|eom|>
  std::optional<std::string> context =
      std::nullopt;  // user only: RAG context, appended after "\n\n"
};

// Tokens of the dialog: <|begin_of_text|>, every message, and (if add_assistant_header) the
// header of the assistant turn the model should write. Throws llama4::Error for an unknown role.
std::vector<std::int32_t> encode_dialog(const Tokenizer& tokenizer,
                                        const std::vector<ChatMessage>& dialog,
                                        bool add_assistant_header = true);

// One message: header, content, terminator.
void encode_message(const Tokenizer& tokenizer, const ChatMessage& message,
                    std::vector<std::int32_t>& tokens);

// <|header_start|>role<|header_end|>\n\n
void encode_header(const Tokenizer& tokenizer, std::string_view role,
                   std::vector<std::int32_t>& tokens);

}  // namespace llama4
