// Meta's cuts before tiktoken: 400,000-character windows and runs of at most 25,000.
//
// tiktoken's Rust core once crashed (a regex stack overflow, openai/tiktoken issue 195) on very
// long runs of whitespace or of non-whitespace. Meta's tokenizer.py works around it before calling
// tiktoken: it cuts the text into windows of 400,000 characters, and cuts each window wherever a
// run of consecutive whitespace, or of consecutive non-whitespace, characters would grow past
// 25,000. Each piece is then encoded on its own, so a cut can change the tokens at that point
// (two halves of a long word are merged separately). To produce Meta's ids we make the same cuts.
//
// "Characters" are code points and "whitespace" is Python's str.isspace(), which is not the
// regex's \s: it also counts U+001C..U+001F (the ASCII file/group/record/unit separators).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace llama4 {

inline constexpr std::size_t kMetaWindowCharacters = 400'000;
inline constexpr std::size_t kMetaMaxRunCharacters = 25'000;

// Python's str.isspace() for one code point.
bool is_python_whitespace(char32_t code_point);

// The pieces Meta's encode() hands to tiktoken one by one, in order; they concatenate to `text`.
// `text` should be valid UTF-8 (a broken byte counts as one non-space character). Empty text
// gives no pieces.
std::vector<std::string_view> split_long_runs(std::string_view text,
                                              std::size_t window = kMetaWindowCharacters,
                                              std::size_t max_run = kMetaMaxRunCharacters);

}  // namespace llama4
