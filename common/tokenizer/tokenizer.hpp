// The Llama 4 tokenizer: text <-> token ids, exactly as Meta's tokenizer.py (tiktoken) does it.
//
//   text ──UTF-8 check──> Meta's long-run cuts ──> special tokens? ──> o200k split ──> BPE ──> ids
//         (utf8.hpp)      (long_run_splitter.hpp)  (special_tokens.hpp) (pretokenizer.hpp)
//                                                                      (byte_pair_encoding.hpp)
//
// Ids 0..199,999 are byte strings from tokenizer.model; 200,000..202,047 are Meta's special
// tokens. decode() concatenates the bytes of the ids, so decode(encode(text)) == text.
//
// Invalid UTF-8: encode() checks the whole text once, at the door (the first arrow above), and
// rejects it with a llama4::Error naming the byte offset; the stages after it work on pieces of
// the checked text and do not check again. Meta's encode
// takes a Python str, which cannot hold invalid UTF-8, so there is no reference behaviour to copy,
// and silently replacing bytes would break decode(encode(text)) == text. Callers with untrusted
// bytes can call replace_invalid_utf8() (common/tokenizer/utf8.hpp) first, which is what Python's
// bytes.decode(errors="replace") would have done.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/tokenizer/pretokenizer.hpp"
#include "common/tokenizer/special_tokens.hpp"
#include "common/tokenizer/token_vocabulary.hpp"

namespace llama4 {

struct EncodeOptions {
  bool bos = false;            // prepend <|begin_of_text|>
  bool eos = false;            // append <|end_of_text|>
  bool allow_special = false;  // text like "<|eot|>" becomes the special token, not plain text
};

class Tokenizer {
 public:
  // tokenizer.model (tiktoken ranks) or tokenizer.json (Hugging Face), told apart by the file's
  // first non-blank byte ('{' is JSON). Throws llama4::Error naming the file and line at fault.
  static Tokenizer load(const std::filesystem::path& path);

  // A tokenizer over this base vocabulary with Llama 4's 2,048 special tokens after it.
  static Tokenizer from_vocabulary(TokenVocabulary vocabulary);

  std::vector<std::int32_t> encode(std::string_view text, const EncodeOptions& options = {}) const;
  // Encodes text with no special-token parsing, BOS or EOS, appending to `ids` (the chat format
  // and benchmarks use this to avoid allocations).
  void encode_ordinary(std::string_view text, std::vector<std::int32_t>& ids) const;

  // The bytes of the ids, concatenated (not necessarily valid UTF-8: a character may be split
  // over tokens). An id out of range is a llama4::Error naming it.
  std::string decode(std::span<const std::int32_t> ids) const;
  // The bytes of one token; for special tokens, their text.
  std::string token_bytes(std::int32_t id) const;

  std::int32_t vocab_size() const { return vocabulary_.size() + special_.count(); }
  std::int32_t bos_id() const { return bos_id_; }
  std::int32_t eos_id() const { return eos_id_; }
  std::int32_t eot_id() const { return eot_id_; }
  std::int32_t eom_id() const { return eom_id_; }
  std::int32_t pad_id() const { return pad_id_; }
  // Where generation stops: {<|end_of_text|>, <|eom|>, <|eot|>}.
  std::vector<std::int32_t> stop_ids() const { return {eos_id_, eom_id_, eot_id_}; }
  std::optional<std::int32_t> special_token_id(std::string_view text) const {
    return special_.find(text);
  }
  bool is_special(std::int32_t id) const { return special_.contains_id(id); }

  // The parts, for the chapter's learner mode and for tests.
  const TokenVocabulary& vocabulary() const { return vocabulary_; }
  const SpecialTokens& special_tokens() const { return special_; }
  const Pretokenizer& pretokenizer() const { return pretokenizer_; }

 private:
  Tokenizer(TokenVocabulary vocabulary, SpecialTokens special);
  void encode_chunk(std::string_view chunk, bool allow_special,
                    std::vector<std::string_view>& pieces, std::vector<std::int32_t>& ids) const;
  void encode_pieces(std::string_view text, std::vector<std::string_view>& pieces,
                     std::vector<std::int32_t>& ids) const;

  TokenVocabulary vocabulary_;
  SpecialTokens special_;
  Pretokenizer pretokenizer_;
  std::int32_t bos_id_ = 0, eos_id_ = 0, eot_id_ = 0, eom_id_ = 0, pad_id_ = 0;
};

}  // namespace llama4
