#include "common/tokenizer/chat_format.hpp"

#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

bool is_tool_role(std::string_view role) {
  return role == "tool" || role == "ipython";
}

void check_role(std::string_view role) {
  if (role == "system" || role == "user" || role == "assistant" || is_tool_role(role)) return;
  fail("chat message has role \"", role,
       "\"; Llama 4 knows system, user, assistant and tool (ipython)");
}

}  // namespace

void encode_header(const Tokenizer& tokenizer, std::string_view role,
                   std::vector<std::int32_t>& tokens) {
  tokens.push_back(tokenizer.special_tokens().id_of("<|header_start|>"));
  tokenizer.encode_ordinary(is_tool_role(role) ? "ipython" : role, tokens);
  tokens.push_back(tokenizer.special_tokens().id_of("<|header_end|>"));
  tokenizer.encode_ordinary("\n\n", tokens);
}

void encode_message(const Tokenizer& tokenizer, const ChatMessage& message,
                    std::vector<std::int32_t>& tokens) {
  check_role(message.role);
  encode_header(tokenizer, message.role, tokens);
  tokenizer.encode_ordinary(message.content, tokens);
  if (message.role == "user" && message.context) {
    tokenizer.encode_ordinary("\n\n", tokens);
    tokenizer.encode_ordinary(*message.context, tokens);
  }
  const bool end_of_message =
      is_tool_role(message.role) || (message.role == "assistant" && message.end_of_message);
  tokens.push_back(end_of_message ? tokenizer.eom_id() : tokenizer.eot_id());
}

std::vector<std::int32_t> encode_dialog(const Tokenizer& tokenizer,
                                        const std::vector<ChatMessage>& dialog,
                                        bool add_assistant_header) {
  std::vector<std::int32_t> tokens = {tokenizer.bos_id()};
  for (const ChatMessage& message : dialog) encode_message(tokenizer, message, tokens);
  if (add_assistant_header) encode_header(tokenizer, "assistant", tokens);
  return tokens;
}

}  // namespace llama4
