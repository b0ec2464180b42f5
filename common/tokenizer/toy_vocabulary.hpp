// A hand-made vocabulary: the tokenizer machinery, small enough to follow by hand.
//
// Ids 0..255 are the 256 single bytes in byte order (so 'a' is 97); ids 256 and up are a hundred
// merges written out below, each the concatenation of two earlier tokens, in the order a BPE
// trainer might have learned them: "th" (256), "he" (257), ... " the", ..., "Hello", " world".
// Llama 4's 2,048 special tokens follow the last merge, as they follow rank 199,999 in the real
// file. Tests and the chapter's demo use it when Meta's tokenizer.model is not available; the
// golden generator runs tiktoken on it too (golden/tokenizer/toy.tiktoken is this vocabulary).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/tokenizer/token_vocabulary.hpp"

namespace llama4 {

// The merges, in rank order: {left, right} makes token left + right.
const std::vector<std::pair<std::string, std::string>>& toy_merges();

TokenVocabulary toy_vocabulary();

}  // namespace llama4
