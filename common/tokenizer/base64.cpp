#include "common/tokenizer/base64.hpp"

#include <array>
#include <cstdint>

namespace llama4 {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The 6-bit value of each character, or -1 for characters outside the alphabet.
constexpr std::array<std::int8_t, 256> make_sextet_table() {
  std::array<std::int8_t, 256> table{};
  for (auto& value : table) value = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}
constexpr std::array<std::int8_t, 256> kSextet = make_sextet_table();

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  std::string bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (std::size_t group = 0; group < text.size(); group += 4) {
    const bool last = group + 4 == text.size();
    const std::size_t characters = last ? 4 - padding : 4;
    std::uint32_t bits = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      std::int8_t sextet = 0;
      if (i < characters) {
        sextet = kSextet[static_cast<unsigned char>(text[group + i])];
        if (sextet < 0) return std::nullopt;  // also catches '=' in the middle
      }
      bits = (bits << 6) | static_cast<std::uint32_t>(sextet);
    }
    const std::size_t byte_count = characters - 1;  // 4 chars -> 3 bytes, 3 -> 2, 2 -> 1
    // The bits below the last whole byte must be zero, or two texts would decode the same.
    if ((bits & ((1u << (8 * (3 - byte_count))) - 1)) != 0) return std::nullopt;
    for (std::size_t i = 0; i < byte_count; ++i) {
      bytes.push_back(static_cast<char>((bits >> (16 - 8 * i)) & 0xFF));
    }
  }
  return bytes;
}

std::string encode_base64(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t count = bytes.size() - i < 3 ? bytes.size() - i : 3;
    std::uint32_t bits = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      const std::uint32_t byte = j < count ? static_cast<unsigned char>(bytes[i + j]) : 0;
      bits = (bits << 8) | byte;
    }
    for (std::size_t j = 0; j < 4; ++j) {
      text.push_back(j <= count ? kAlphabet[(bits >> (18 - 6 * j)) & 0x3F] : '=');
    }
  }
  return text;
}

}  // namespace llama4
