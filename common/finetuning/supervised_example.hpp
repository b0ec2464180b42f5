// A conversation as supervised fine-tuning sees it: its tokens in the chat format, and which of
// them the model is taught to write.
//
//   <|begin_of_text|><|header_start|>user<|header_end|>\n\nWhich book is this verse from?
//   ...<|eot|>
//   <|header_start|>assistant<|header_end|>\n\nGenesis<|eot|>
//                                              ^^^^^^^^^^^^^  trained: 1, everything else 0
//
// Why only the assistant's words: at inference the prompt is given, never generated. Training
// on the user's tokens would spend the model's capacity on predicting questions (and on copying
// the verse it is shown), and it would teach the model to write user turns. The closing <|eot|>
// IS trained: it is how the model learns to stop, and a chat program waits for it.
// The assistant's header is not trained either: the program writes it, not the model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/finetuning/conversation_file.hpp"
#include "common/tokenizer/tokenizer.hpp"

namespace llama4 {

struct SupervisedExample {
  std::string where;                  // the conversation's file and line
  std::vector<std::int32_t> tokens;   // <|begin_of_text|> and every message
  std::vector<std::uint8_t> trained;  // one flag per token: 1 = an assistant's content or its
                                      // terminator (the model learns to predict it)
};

SupervisedExample tokenize_conversation(const Tokenizer& tokenizer,
                                        const Conversation& conversation);

}  // namespace llama4
