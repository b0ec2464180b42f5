#include "common/finetuning/supervised_example.hpp"

namespace llama4 {

SupervisedExample tokenize_conversation(const Tokenizer& tokenizer,
                                        const Conversation& conversation) {
  SupervisedExample example{conversation.where, {tokenizer.bos_id()}, {0}};
  for (const ChatMessage& message : conversation.messages) {
    std::vector<std::int32_t> header;
    encode_header(tokenizer, message.role, header);
    const std::size_t start = example.tokens.size();
    encode_message(tokenizer, message, example.tokens);
    const std::uint8_t trained = message.role == "assistant" ? 1 : 0;
    // The header (the same tokens encode_message began with) is never trained.
    example.trained.resize(start + header.size(), 0);
    example.trained.resize(example.tokens.size(), trained);
  }
  return example;
}

}  // namespace llama4
