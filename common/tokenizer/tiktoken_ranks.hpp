// tokenizer.model: Meta's vocabulary file, in tiktoken's format.
//
// One token per line, its bytes in base64, a space, and its rank:
//
//   IQ== 13          "!"
//   IHRoZQ== 279     " the"
//
// Llama 4's file has 200,000 lines with ranks 0..199,999 in order. The rank is the token's id and
// its merge priority (common/tokenizer/token_vocabulary.hpp). The special tokens are not in the
// file; Meta's code appends them after the last rank (common/tokenizer/special_tokens.hpp).
//
// The file comes from outside, so every line is checked: bad base64, a missing or non-numeric rank,
// a token or rank given twice, a rank missing from 0..N-1 (the ids would have a hole, and the
// special token ids, which start at N, would collide), an empty file. Each error names the file and
// line.
#pragma once

#include <filesystem>
#include <string_view>

#include "common/tokenizer/token_vocabulary.hpp"

namespace llama4 {

TokenVocabulary load_tiktoken_ranks(const std::filesystem::path& path);

// The same, from the file's text; `source` names it in error messages.
TokenVocabulary parse_tiktoken_ranks(std::string_view text, std::string_view source);

// The text of a tiktoken file holding this vocabulary (ranks in id order). Used to write the
// hand-made vocabulary for the golden generator and by tests.
std::string format_tiktoken_ranks(const TokenVocabulary& vocabulary);

}  // namespace llama4
