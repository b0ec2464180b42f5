#include "common/tokenizer/tokenizer.hpp"

#include "common/tensors/error.hpp"
#include "common/tensors/mapped_file.hpp"
#include "common/tokenizer/byte_pair_encoding.hpp"
#include "common/tokenizer/hf_tokenizer_json.hpp"
#include "common/tokenizer/long_run_splitter.hpp"
#include "common/tokenizer/tiktoken_ranks.hpp"
#include "common/tokenizer/utf8.hpp"

namespace llama4 {
namespace {

bool looks_like_json(const std::filesystem::path& path) {
  const MappedFile file(path);  // refuses a directory, FIFO or device before reading a byte
  for (std::size_t i = 0; i < file.size(); ++i) {
    const auto c = static_cast<char>(file.data()[i]);
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return c == '{';
  }
  return false;
}

// An HF file lists (some of) the special tokens itself. Meta's list is the one the model was
// trained with, so each listed token must agree with it: same text at the same id. The HF
// converter leaves out the reasoning and generic reserved tokens (ids 201,134 and up); they still
// exist in the model, so the full list is used either way.
void check_added_tokens(const HfTokenizerJson& file, const std::vector<std::string>& special,
                        const std::filesystem::path& path) {
  const std::int32_t base = file.vocabulary.size();
  for (const AddedToken& added : file.added_tokens) {
    if (added.id < base) {
      if (file.vocabulary.bytes(added.id) != added.content) {
        fail(path, ": added token \"", added.content, "\" has id ", added.id,
             ", which the vocab gives to another token");
      }
      continue;
    }
    const std::int64_t index = static_cast<std::int64_t>(added.id) - base;
    if (index >= static_cast<std::int64_t>(special.size())) {
      fail(path, ": added token \"", added.content, "\" has id ", added.id,
           ", past Llama 4's last special token ",
           base + static_cast<std::int64_t>(special.size()) - 1);
    }
    if (special[static_cast<std::size_t>(index)] != added.content) {
      fail(path, ": added token \"", added.content, "\" has id ", added.id,
           ", but in Llama 4 that id is ", special[static_cast<std::size_t>(index)]);
    }
  }
}

[[noreturn]] void reject_invalid_utf8(std::string_view text, std::size_t offset) {
  const auto byte = static_cast<unsigned char>(text[offset]);
  fail("encode: the text is not valid UTF-8 at byte offset ", offset, " of ", text.size(),
       " (byte 0x", "0123456789abcdef"[byte >> 4], "0123456789abcdef"[byte & 15],
       "); pass it through replace_invalid_utf8() first to substitute U+FFFD");
}

}  // namespace

Tokenizer::Tokenizer(TokenVocabulary vocabulary, SpecialTokens special)
    : vocabulary_(std::move(vocabulary)), special_(std::move(special)) {
  bos_id_ = special_.id_of("<|begin_of_text|>");
  eos_id_ = special_.id_of("<|end_of_text|>");
  eot_id_ = special_.id_of("<|eot|>");
  eom_id_ = special_.id_of("<|eom|>");
  pad_id_ = special_.id_of("<|finetune_right_pad|>");
}

Tokenizer Tokenizer::from_vocabulary(TokenVocabulary vocabulary) {
  const std::int32_t base = vocabulary.size();
  return Tokenizer(std::move(vocabulary), SpecialTokens(llama4_special_tokens(), base));
}

Tokenizer Tokenizer::load(const std::filesystem::path& path) {
  if (!looks_like_json(path)) return from_vocabulary(load_tiktoken_ranks(path));
  HfTokenizerJson file = load_hf_tokenizer_json(path);
  check_added_tokens(file, llama4_special_tokens(), path);
  return from_vocabulary(std::move(file.vocabulary));
}

void Tokenizer::encode_pieces(std::string_view text, std::vector<std::string_view>& pieces,
                              std::vector<std::int32_t>& ids) const {
  pieces.clear();
  pretokenizer_.split_valid_utf8(text, pieces);  // encode() checked the UTF-8 at the door
  for (const std::string_view piece : pieces) {
    // Most pieces are whole tokens (" the", " Hello"): one lookup, no merging.
    const std::int32_t id = vocabulary_.find(piece);
    if (id != TokenVocabulary::kNotFound) {
      ids.push_back(id);
    } else {
      byte_pair_encode(vocabulary_, piece, ids);
    }
  }
}

// One of Meta's chunks, as tiktoken's encode() sees it: with special tokens allowed, the text
// between them is encoded separately, so the split pattern never looks across a special token.
void Tokenizer::encode_chunk(std::string_view chunk, bool allow_special,
                             std::vector<std::string_view>& pieces,
                             std::vector<std::int32_t>& ids) const {
  std::size_t position = 0;
  while (allow_special) {
    const std::optional<SpecialTokenMatch> match = special_.find_next(chunk, position);
    if (!match) break;
    encode_pieces(chunk.substr(position, match->offset - position), pieces, ids);
    ids.push_back(match->id);
    position = match->offset + match->length;
  }
  encode_pieces(chunk.substr(position), pieces, ids);
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text,
                                            const EncodeOptions& options) const {
  // The door: the one UTF-8 check of the whole text. Everything after works on pieces of it cut at
  // character boundaries (long runs, special tokens, the split pattern), which are valid too, so
  // the pre-tokenizer does not check again.
  if (const std::optional<std::size_t> offset = find_invalid_utf8(text)) {
    reject_invalid_utf8(text, *offset);
  }
  std::vector<std::int32_t> ids;
  ids.reserve(text.size() / 3 + 2);
  if (options.bos) ids.push_back(bos_id_);
  std::vector<std::string_view> pieces;
  for (const std::string_view chunk : split_long_runs(text)) {
    encode_chunk(chunk, options.allow_special, pieces, ids);
  }
  if (options.eos) ids.push_back(eos_id_);
  return ids;
}

void Tokenizer::encode_ordinary(std::string_view text, std::vector<std::int32_t>& ids) const {
  // The door, as in encode().
  if (const std::optional<std::size_t> offset = find_invalid_utf8(text)) {
    reject_invalid_utf8(text, *offset);
  }
  std::vector<std::string_view> pieces;
  for (const std::string_view chunk : split_long_runs(text)) {
    encode_chunk(chunk, false, pieces, ids);
  }
}

std::string Tokenizer::token_bytes(std::int32_t id) const {
  if (id >= 0 && id < vocabulary_.size()) return std::string(vocabulary_.bytes(id));
  if (special_.contains_id(id)) return special_.text(id);
  fail("token id ", id, " is out of range: this tokenizer has ids 0..", vocab_size() - 1);
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids) const {
  std::string bytes;
  for (const std::int32_t id : ids) {
    if (id >= 0 && id < vocabulary_.size()) {
      bytes.append(vocabulary_.bytes(id));
    } else if (special_.contains_id(id)) {
      bytes.append(special_.text(id));
    } else {
      fail("decode: token id ", id, " is out of range: this tokenizer has ids 0..",
           vocab_size() - 1);
    }
  }
  return bytes;
}

}  // namespace llama4
