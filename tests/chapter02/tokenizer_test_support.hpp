// Helpers for chapter 02's tests: the tokenizers, an HF tokenizer.json writer, the golden ids.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/tokenizer/token_vocabulary.hpp"
#include "common/tokenizer/tokenizer.hpp"

namespace llama4::testing {

// The hand-made vocabulary with Llama 4's special tokens (built once).
const Tokenizer& toy_tokenizer();
// Meta's tokenizer.model, loaded once. Call only after LLAMA4_TOKENIZER_OR_SKIP.
const Tokenizer& real_tokenizer();

// A tokenizer.json for this vocabulary, written the way HF's TikTokenConverter does: byte-level
// alphabet keys, every split of a token into two tokens as a merge (in the order of the ids they
// make), the o200k Split pre-tokenizer, and the first `added_special` of Meta's special tokens.
std::string hf_tokenizer_json_text(const TokenVocabulary& vocabulary, bool merges_as_pairs = false,
                                   int added_special = 1134);

// The golden ids written by golden/tokenizer/generate.cjs.
struct GoldenCase {
  std::string kind;
  std::string text;
  std::vector<std::int32_t> ids;          // special-token text as plain text
  std::vector<std::int32_t> special_ids;  // with special tokens allowed
};
struct GoldenSet {
  std::int32_t bos_id = 0;
  std::int32_t eos_id = 0;
  std::int32_t base_tokens = 0;
  std::vector<GoldenCase> cases;
};
std::filesystem::path golden_tokenizer_dir();
// "cases.json" or "toy-cases.json", parsed once.
const GoldenSet& golden_set(const std::string& file_name);

// A short printable form of a text for failure messages.
std::string printable(const std::string& text, std::size_t limit = 120);

}  // namespace llama4::testing
