// Conversation files: what chapter 13 fine-tunes on, one conversation per line (JSONL), in the
// layout most fine-tuning tools read:
//
//   {"messages": [{"role": "user", "content": "Which book is this verse from? ..."},
//                 {"role": "assistant", "content": "Genesis"}]}
//
// Roles are the chat format's (tokenizer/chat_format.hpp): system, user, assistant, tool (or
// ipython). A conversation must have at least one assistant message (the only words that are
// trained on) and its last message must be the assistant's (what would a trailing user message
// teach?). Every problem is an Error naming the file and the line.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/tokenizer/chat_format.hpp"

namespace llama4 {

struct Conversation {
  std::string where;  // "FILE:LINE", for errors found later (a conversation too long to train)
  std::vector<ChatMessage> messages;
  std::string task;  // the line's "task", if any (make_instructions.py's; chapter 13's evaluation)
};

// One line of a conversation file; `where` names it in errors.
Conversation parse_conversation(const std::string& line, const std::string& where);

// Every non-blank line of the file. An empty file, a file that is not UTF-8, or any bad line is
// an Error naming the file (and the line).
std::vector<Conversation> read_conversation_file(const std::filesystem::path& path);

}  // namespace llama4
