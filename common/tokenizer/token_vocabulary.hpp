// TokenVocabulary: the mergeable tokens of a byte-level BPE, id <-> bytes.
//
// In tiktoken's scheme (which Llama 4 uses) a token's id is also its merge rank: token 256 ("two
// spaces") was learned before token 258 ("er"), so when both could be made, "  " wins. Every id
// below size() is a sequence of bytes; all 256 single bytes are tokens, so any text can be written
// with them. Special tokens (<|eot|> ...) are not in here; they come after
// (common/tokenizer/special_tokens.hpp).
//
// The table answers one question very often — "is this byte string a token, and which?" — so it is
// an open-addressing hash table over one flat buffer of token bytes, not a map of std::string.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace llama4 {

class TokenVocabulary {
 public:
  static constexpr std::int32_t kNotFound = -1;

  // Says where token `id` came from in an error message ("line 12", "\"Ġthe\" (id 279)").
  using Describe = std::function<std::string(std::int32_t id)>;

  // tokens[id] are the bytes of token `id`. Throws llama4::Error naming `source` if a token is
  // empty, appears twice, or one of the 256 single bytes has no token.
  TokenVocabulary(const std::vector<std::string>& tokens, std::string_view source,
                  const Describe& describe = {});
  TokenVocabulary() = default;

  std::int32_t size() const { return static_cast<std::int32_t>(offsets_.size()) - 1; }
  std::string_view bytes(std::int32_t id) const {
    return std::string_view(arena_).substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  // The id of the token with exactly these bytes, or kNotFound.
  std::int32_t find(std::string_view bytes) const {
    // Byte-pair merging starts by looking up every 2-byte pair of a piece; a direct table makes
    // those lookups one load from 256 KiB instead of a hash probe.
    if (bytes.size() == 2) {
      return pair_ids_[static_cast<unsigned char>(bytes[0]) << 8 |
                       static_cast<unsigned char>(bytes[1])];
    }
    return find_in_table(bytes);
  }
  // The id of a single byte (always present).
  std::int32_t byte_id(unsigned char byte) const { return byte_ids_[byte]; }
  std::size_t longest_token() const { return longest_; }

 private:
  std::int32_t find_in_table(std::string_view bytes) const;

  std::string arena_;                   // all token bytes, back to back, in id order
  std::vector<std::uint32_t> offsets_;  // token id starts at arena_[offsets_[id]]; size()+1 entries
  // The hash table: an id, and 32 more bits of the hash to reject most non-matching slots without
  // touching arena_ (a lookup is then usually one cache miss, not two).
  struct Slot {
    std::uint32_t check = 0;
    std::int32_t id = kNotFound;
  };
  std::vector<Slot> slots_;
  std::uint64_t slot_mask_ = 0;
  std::int32_t byte_ids_[256] = {};
  std::vector<std::int32_t> pair_ids_ = std::vector<std::int32_t>(65536, kNotFound);
  std::size_t longest_ = 0;
};

}  // namespace llama4
