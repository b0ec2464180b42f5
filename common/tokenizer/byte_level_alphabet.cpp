#include "common/tokenizer/byte_level_alphabet.hpp"

#include <array>

#include "common/tokenizer/utf8.hpp"

namespace llama4 {
namespace {

constexpr bool stands_for_itself(unsigned byte) {
  return (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) ||
         (byte >= 0xAE && byte <= 0xFF);
}

constexpr std::array<char32_t, 256> make_alphabet() {
  std::array<char32_t, 256> alphabet{};
  char32_t next_moved = 0x100;
  for (unsigned byte = 0; byte < 256; ++byte) {
    alphabet[byte] = stands_for_itself(byte) ? byte : next_moved++;
  }
  return alphabet;
}
constexpr std::array<char32_t, 256> kAlphabet = make_alphabet();

// The inverse, over U+0000..U+0143 (the highest moved byte lands on U+0143); -1 elsewhere.
constexpr std::array<int, 0x144> make_inverse() {
  std::array<int, 0x144> inverse{};
  for (auto& value : inverse) value = -1;
  for (unsigned byte = 0; byte < 256; ++byte) inverse[kAlphabet[byte]] = static_cast<int>(byte);
  return inverse;
}
constexpr std::array<int, 0x144> kInverse = make_inverse();

}  // namespace

char32_t byte_to_alphabet_char(unsigned char byte) {
  return kAlphabet[byte];
}

std::optional<std::string> alphabet_text_to_bytes(std::string_view text) {
  std::string bytes;
  std::size_t offset = 0;
  while (offset < text.size()) {
    const Utf8Sequence sequence = inspect_utf8(text, offset);
    if (sequence.kind != Utf8Sequence::Kind::kComplete) return std::nullopt;
    if (sequence.code_point >= kInverse.size() || kInverse[sequence.code_point] < 0) {
      return std::nullopt;
    }
    bytes.push_back(static_cast<char>(kInverse[sequence.code_point]));
    offset += sequence.length;
  }
  return bytes;
}

std::string bytes_to_alphabet_text(std::string_view bytes) {
  std::string text;
  for (const char byte : bytes) append_utf8(text, kAlphabet[static_cast<unsigned char>(byte)]);
  return text;
}

}  // namespace llama4
