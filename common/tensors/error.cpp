#include "common/tensors/error.hpp"

#include <cstdint>

namespace llama4 {
namespace {

// Length of the well-formed UTF-8 sequence at text[i] (2-4), or 0 if there is none.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char lead = byte(0);
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size() || byte(1) < low || byte(1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(k) < 0x80 || byte(k) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

std::string printable(std::string_view text) {
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const std::size_t length = byte >= 0x80 ? utf8_sequence_length(text, i) : 1;
    // C1 controls (U+0080..U+009F, "\xC2\x80".."\xC2\x9F") act like ESC on some terminals.
    const bool c1_control =
        length == 2 && byte == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0;
    if (length > 1 && !c1_control) {
      out.append(text.substr(i, length));
      i += length;
    } else if (length == 1 && byte >= 0x20 && byte != 0x7F) {
      out += static_cast<char>(byte);
      ++i;
    } else {
      const std::size_t count = c1_control ? 2 : 1;
      for (std::size_t k = 0; k < count; ++k) {
        const auto escaped = static_cast<unsigned char>(text[i + k]);
        out += "\\x";
        out += kHex[escaped >> 4];
        out += kHex[escaped & 15];
      }
      i += count;
    }
  }
  return out;
}

}  // namespace llama4
