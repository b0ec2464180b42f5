// Llama 4's special tokens: 2,048 ids after the base vocabulary, in Meta's order.
//
// Special tokens mark structure, not text: <|begin_of_text|> starts every sequence,
// <|header_start|>user<|header_end|> frames a chat turn, <|eot|> ends it. They are not in
// tokenizer.model; Meta's tokenizer.py builds the list in code and numbers it from the number of
// base tokens (200,000), so <|begin_of_text|> is 200000 and the last reserved token 202047:
//
//   200000..200004  begin_of_text, end_of_text, fim_prefix, fim_middle, fim_suffix
//   200005..200079  header_start, header_end, eom, eot, step, text_post_train_reserved 0..5,
//                   python_start, python_end, finetune_right_pad, text_post_train_reserved 8..68
//   200080..201133  image_start, image_end, vision_reserved 0/1, tile_x/y_separator,
//                   vision_reserved 2..5, image, vision_reserved 6, patch, vision_reserved 7..1047
//   201134..201143  reasoning_reserved 0..7, reasoning_thinking_start, reasoning_thinking_end
//   201144..202047  reserved_special_token_0..903 (fills the list up to 2,048)
//
// Trap: older copies of this list (Meta's first Llama 4 commit) had <|finetune_right_pad|> at
// 200016 and 8 reasoning tokens; every id after them is off. This follows the current tokenizer.py.
//
// Trap: the *text* "<|eot|>" typed by a user is not the token <|eot|>. Meta's encode treats it as
// plain text unless the caller allows special tokens (EncodeOptions::allow_special).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llama4 {

inline constexpr std::int32_t kLlama4SpecialTokenCount = 2048;

// The 2,048 special token texts in Meta's order (index i has id base_vocabulary_size + i).
std::vector<std::string> llama4_special_tokens();

// A special token found inside a text.
struct SpecialTokenMatch {
  std::size_t offset = 0;  // byte offset of "<|"
  std::size_t length = 0;
  std::int32_t id = 0;
};

// The special tokens of one tokenizer: text <-> id, ids first_id .. first_id + count - 1.
class SpecialTokens {
 public:
  SpecialTokens() = default;
  SpecialTokens(std::vector<std::string> texts, std::int32_t first_id);

  std::int32_t first_id() const { return first_id_; }
  std::int32_t count() const { return static_cast<std::int32_t>(texts_.size()); }
  bool contains_id(std::int32_t id) const { return id >= first_id_ && id - first_id_ < count(); }
  const std::string& text(std::int32_t id) const { return texts_[id - first_id_]; }
  std::optional<std::int32_t> find(std::string_view text) const;
  // The id of a token that must exist ("<|eot|>"); throws llama4::Error if it does not.
  std::int32_t id_of(std::string_view text) const;

  // The first special token that occurs in text at or after `from`, as tiktoken finds it: the
  // leftmost match. Every Llama 4 special token has the shape "<|name|>" with no "|>" inside the
  // name, so a match can only end at the first "|>" after its "<|".
  std::optional<SpecialTokenMatch> find_next(std::string_view text, std::size_t from) const;

 private:
  std::vector<std::string> texts_;
  std::map<std::string, std::int32_t, std::less<>> ids_;
  std::int32_t first_id_ = 0;
};

}  // namespace llama4
