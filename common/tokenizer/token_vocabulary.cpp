#include "common/tokenizer/token_vocabulary.hpp"

#include <bit>
#include <cstring>

#include "common/tensors/error.hpp"
#include "common/tokenizer/base64.hpp"

namespace llama4 {
namespace {

// A fast hash of a short byte string: 8 bytes at a time, mixed with a multiply (the tokens are
// short, typically 2-8 bytes, so this is one or two rounds).
std::uint64_t hash_bytes(std::string_view bytes) {
  constexpr std::uint64_t kMultiplier = 0x9E3779B97F4A7C15ull;
  std::uint64_t hash = bytes.size() * kMultiplier;
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    hash = (hash ^ word) * kMultiplier;
    hash ^= hash >> 29;
  }
  if (i < bytes.size()) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes.data() + i, bytes.size() - i);
    hash = (hash ^ word) * kMultiplier;
    hash ^= hash >> 29;
  }
  hash *= kMultiplier;
  return hash ^ (hash >> 32);  // the slot (low bits) then also depends on the high bits
}

}  // namespace

TokenVocabulary::TokenVocabulary(const std::vector<std::string>& tokens, std::string_view source,
                                 const Describe& describe) {
  const auto where = [&](std::int32_t id) {
    return describe ? describe(id) : "token " + std::to_string(id);
  };
  offsets_.reserve(tokens.size() + 1);
  offsets_.push_back(0);
  for (const std::string& token : tokens) {
    if (token.empty()) fail(source, ": ", where(size()), " is empty");
    if (arena_.size() + token.size() > UINT32_MAX) fail(source, ": the tokens exceed 4 GiB");
    arena_.append(token);
    offsets_.push_back(static_cast<std::uint32_t>(arena_.size()));
    if (token.size() > longest_) longest_ = token.size();
  }
  // At most half full, so a lookup usually probes one or two slots.
  const std::uint64_t capacity = std::bit_ceil(std::uint64_t{2} * tokens.size() + 16);
  slots_.assign(capacity, Slot{});
  slot_mask_ = capacity - 1;
  for (std::int32_t id = 0; id < size(); ++id) {
    const std::uint64_t hash = hash_bytes(bytes(id));
    std::uint64_t slot = hash & slot_mask_;
    while (slots_[slot].id != kNotFound) {
      if (bytes(slots_[slot].id) == bytes(id)) {
        fail(source, ": ", where(id), " repeats the bytes of ", where(slots_[slot].id), " (base64 ",
             encode_base64(bytes(id)), ")");
      }
      slot = (slot + 1) & slot_mask_;
    }
    slots_[slot] = Slot{static_cast<std::uint32_t>(hash >> 32), id};
  }
  for (int byte = 0; byte < 256; ++byte) {
    const char as_char = static_cast<char>(byte);
    byte_ids_[byte] = find(std::string_view(&as_char, 1));
    if (byte_ids_[byte] == kNotFound) {
      fail(source, ": byte 0x", "0123456789abcdef"[byte >> 4], "0123456789abcdef"[byte & 15],
           " has no token, so text containing it could not be encoded (a byte-level BPE ",
           "vocabulary must hold all 256 single bytes)");
    }
  }
  for (std::int32_t id = 0; id < size(); ++id) {
    const std::string_view token = bytes(id);
    if (token.size() == 2) {
      pair_ids_[static_cast<unsigned char>(token[0]) << 8 | static_cast<unsigned char>(token[1])] =
          id;
    }
  }
}

std::int32_t TokenVocabulary::find_in_table(std::string_view token) const {
  if (slots_.empty()) return kNotFound;
  const std::uint64_t hash = hash_bytes(token);
  const auto check = static_cast<std::uint32_t>(hash >> 32);
  std::uint64_t slot = hash & slot_mask_;
  while (true) {
    const Slot& entry = slots_[slot];
    if (entry.id == kNotFound) return kNotFound;
    if (entry.check == check) {
      const std::uint32_t begin = offsets_[entry.id];
      const std::uint32_t length = offsets_[entry.id + 1] - begin;
      if (length == token.size() && std::memcmp(arena_.data() + begin, token.data(), length) == 0) {
        return entry.id;
      }
    }
    slot = (slot + 1) & slot_mask_;
  }
}

}  // namespace llama4
