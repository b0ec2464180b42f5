#include "common/tokenizer/special_tokens.hpp"

#include <unordered_set>

#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

void append_reserved(std::vector<std::string>& tokens, std::string_view family, int first,
                     int count) {
  for (int i = first; i < first + count; ++i) {
    tokens.push_back("<|" + std::string(family) + "reserved_special_token_" + std::to_string(i) +
                     "|>");
  }
}

}  // namespace

std::vector<std::string> llama4_special_tokens() {
  std::vector<std::string> tokens = {"<|begin_of_text|>", "<|end_of_text|>", "<|fim_prefix|>",
                                     "<|fim_middle|>", "<|fim_suffix|>"};
  // Text post-training: 200005..200079.
  for (const char* token :
       {"<|header_start|>", "<|header_end|>", "<|eom|>", "<|eot|>", "<|step|>"}) {
    tokens.push_back(token);
  }
  append_reserved(tokens, "text_post_train_", 0, 6);
  for (const char* token : {"<|python_start|>", "<|python_end|>", "<|finetune_right_pad|>"}) {
    tokens.push_back(token);
  }
  append_reserved(tokens, "text_post_train_", 8, 61);
  // Vision: 200080..201133.
  for (const char* token :
       {"<|image_start|>", "<|image_end|>", "<|vision_reserved_special_token_0|>",
        "<|vision_reserved_special_token_1|>", "<|tile_x_separator|>", "<|tile_y_separator|>",
        "<|vision_reserved_special_token_2|>", "<|vision_reserved_special_token_3|>",
        "<|vision_reserved_special_token_4|>", "<|vision_reserved_special_token_5|>", "<|image|>",
        "<|vision_reserved_special_token_6|>", "<|patch|>"}) {
    tokens.push_back(token);
  }
  append_reserved(tokens, "vision_", 7, 1041);
  // Reasoning: 201134..201143.
  append_reserved(tokens, "reasoning_", 0, 8);
  tokens.push_back("<|reasoning_thinking_start|>");
  tokens.push_back("<|reasoning_thinking_end|>");
  // Generic reserved tokens fill the rest of the 2,048 slots: 201144..202047.
  append_reserved(tokens, "", 0, kLlama4SpecialTokenCount - static_cast<int>(tokens.size()));
  return tokens;
}

SpecialTokens::SpecialTokens(std::vector<std::string> texts, std::int32_t first_id)
    : texts_(std::move(texts)), first_id_(first_id) {
  for (std::size_t i = 0; i < texts_.size(); ++i) {
    const std::string& text = texts_[i];
    const bool shaped = text.size() >= 4 && text.starts_with("<|") && text.ends_with("|>") &&
                        text.find("|>", 2) == text.size() - 2;
    if (!shaped) fail("special token \"", text, "\" does not have the shape <|name|>");
    if (!ids_.emplace(text, first_id_ + static_cast<std::int32_t>(i)).second) {
      fail("special token \"", text, "\" is listed twice");
    }
  }
}

std::optional<std::int32_t> SpecialTokens::find(std::string_view text) const {
  const auto found = ids_.find(text);
  if (found == ids_.end()) return std::nullopt;
  return found->second;
}

std::int32_t SpecialTokens::id_of(std::string_view text) const {
  const std::optional<std::int32_t> id = find(text);
  if (!id) fail("the tokenizer has no special token \"", text, "\"");
  return *id;
}

std::optional<SpecialTokenMatch> SpecialTokens::find_next(std::string_view text,
                                                          std::size_t from) const {
  std::size_t start = text.find("<|", from);
  while (start != std::string_view::npos) {
    const std::size_t close = text.find("|>", start + 2);
    if (close == std::string_view::npos) return std::nullopt;  // no later "<|" can close either
    const std::size_t length = close + 2 - start;
    if (const auto id = find(text.substr(start, length)))
      return SpecialTokenMatch{start, length, *id};
    start = text.find("<|", start + 1);
  }
  return std::nullopt;
}

}  // namespace llama4
