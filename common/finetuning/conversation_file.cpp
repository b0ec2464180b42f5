#include "common/finetuning/conversation_file.hpp"

#include <optional>

#include "common/tensors/error.hpp"
#include "common/tensors/json_document.hpp"
#include "common/tensors/json_lines.hpp"
#include "common/tensors/regular_file.hpp"
#include "common/tokenizer/utf8.hpp"

namespace llama4 {
namespace {

bool known_role(const std::string& role) {
  return role == "system" || role == "user" || role == "assistant" || role == "tool" ||
         role == "ipython";
}

}  // namespace

Conversation parse_conversation(const std::string& line, const std::string& where) {
  const nlohmann::json j = parse_json_document(line, where);
  if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array()) {
    fail(where, ": a conversation must be an object with a \"messages\" list");
  }
  Conversation conversation{where, {}, ""};
  if (j.contains("task")) {
    if (!j["task"].is_string()) fail(where, ": \"task\" must be a string");
    conversation.task = j["task"].get<std::string>();
  }
  for (const nlohmann::json& message : j["messages"]) {
    const std::string at = where + ": message " + std::to_string(conversation.messages.size() + 1);
    if (!message.is_object()) fail(at, " is not an object: ", json_excerpt(message));
    if (!message.contains("role") || !message["role"].is_string()) {
      fail(at, " has no string \"role\"");
    }
    if (!message.contains("content") || !message["content"].is_string()) {
      fail(at, " has no string \"content\"");
    }
    const std::string role = message["role"].get<std::string>();
    if (!known_role(role)) {
      fail(at, " has role \"", printable(role),
           "\", which the chat format does not know (system, user, assistant, tool, ipython)");
    }
    conversation.messages.push_back(
        {.role = role, .content = message["content"].get<std::string>()});
  }
  if (conversation.messages.empty() || conversation.messages.back().role != "assistant") {
    fail(where, ": the last message must be the assistant's: its words are what is trained on");
  }
  return conversation;
}

std::vector<Conversation> read_conversation_file(const std::filesystem::path& path) {
  const std::string text = read_regular_file(path);
  if (const std::optional<std::size_t> offset = find_invalid_utf8(text)) {
    fail(path, " is not valid UTF-8 at byte offset ", *offset);
  }
  std::vector<Conversation> conversations;
  for_each_json_line(text, path, [&](const std::string& line, const std::string& where) {
    conversations.push_back(parse_conversation(line, where));
  });
  if (conversations.empty()) fail(path, ": no conversations (one JSON object per line)");
  return conversations;
}

}  // namespace llama4
