// The merges list of a byte-level BPE vocabulary, checked against tiktoken's rule.
//
// Hugging Face's tokenizer.json and llama.cpp's GGUF files both carry a Llama 4 vocabulary as
// tokens spelled in the byte-level alphabet plus a list of merges ("Ġ t": the token "Ġ" followed
// by "t" becomes "Ġt"), applied in list order. tiktoken instead merges by the id of the token the
// pair makes. For a vocabulary converted from tiktoken the two agree, because the converter writes
// the merges in the order of the ids they make. Both readers check that property rather than
// assume it: every merge makes a token of the vocabulary, merges come in id order, and every token
// longer than one byte is made by some merge. A list that breaks it is refused, naming the merge.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "common/tokenizer/token_vocabulary.hpp"

namespace llama4 {

// "Ġ t" -> {"Ġ", "t"}; an Error naming `source` and merge `index` unless it is two tokens with one
// space between them.
std::pair<std::string, std::string> split_merge_text(std::string_view text, std::size_t index,
                                                     std::string_view source);

// Checks merges 0..count-1 (merge(i) gives the two alphabet strings of merge i) against
// `vocabulary` as described above.
void check_merges_follow_ids(
    std::size_t count, const std::function<std::pair<std::string, std::string>(std::size_t)>& merge,
    const TokenVocabulary& vocabulary, std::string_view source);

}  // namespace llama4
