// tokenizer.json: the Hugging Face form of the same vocabulary.
//
// The HF Llama 4 repositories ship the tokenizer as one JSON file for the `tokenizers` library,
// converted from Meta's tokenizer.model. The parts we read:
//
//   "model": {"type": "BPE",
//             "vocab":  {"!": 0, ..., "Ġthe": 279, ...},       token text -> id
//             "merges": ["Ġ t", "h e", ...] or [["Ġ", "t"], ...]}   pair -> merged token, in order
//   "pre_tokenizer": {... "Split" with {"Regex": <the o200k pattern>} ..., "ByteLevel" ...}
//   "added_tokens": [{"id": 200000, "content": "<|begin_of_text|>", "special": true}, ...]
//
// Token text is spelled in the byte-level alphabet (common/tokenizer/byte_level_alphabet.hpp):
// "Ġthe" is the bytes " the". HF's BPE applies the merges list in order; tiktoken merges by the id
// of the concatenated bytes. For a file converted from tiktoken the two agree, because the
// converter writes the merges in the order of the ids they produce. We load the vocabulary and
// check that property (every merge yields a token, merges come in id order, every multi-byte token
// is made by some merge) rather than assume it; a file that breaks it is refused with the merge at
// fault.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/tokenizer/token_vocabulary.hpp"

namespace llama4 {

struct AddedToken {
  std::int32_t id = 0;
  std::string content;
};

struct HfTokenizerJson {
  TokenVocabulary vocabulary;            // the BPE tokens, ids 0..N-1
  std::vector<AddedToken> added_tokens;  // as listed (special tokens, ids >= N)
};

HfTokenizerJson load_hf_tokenizer_json(const std::filesystem::path& path);

// The same, from the file's text; `source` names it in error messages.
HfTokenizerJson parse_hf_tokenizer_json(std::string_view text, std::string_view source);

}  // namespace llama4
