#include "common/tokenizer/utf8.hpp"

namespace llama4 {
namespace {

bool is_continuation(unsigned char byte) {
  return (byte & 0xC0) == 0x80;
}

// The allowed range of the second byte depends on the first: this is what rules out overlong
// forms (E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points past U+10FFFF (F4 90..).
struct LeadByte {
  std::size_t length = 0;  // 0: this byte can never start a character
  unsigned char second_low = 0x80;
  unsigned char second_high = 0xBF;
};

LeadByte describe_lead_byte(unsigned char byte) {
  if (byte < 0x80) return {1, 0, 0};
  if (byte < 0xC2) return {};  // continuation bytes, and C0/C1 which could only be overlong
  if (byte < 0xE0) return {2};
  if (byte == 0xE0) return {3, 0xA0, 0xBF};
  if (byte == 0xED) return {3, 0x80, 0x9F};
  if (byte < 0xF0) return {3};
  if (byte == 0xF0) return {4, 0x90, 0xBF};
  if (byte < 0xF4) return {4};
  if (byte == 0xF4) return {4, 0x80, 0x8F};
  return {};  // F5..FF
}

char32_t decode_valid(std::string_view text, std::size_t offset, std::size_t length) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[offset + i]); };
  if (length == 1) return byte(0);
  const unsigned char lead_mask = length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07;
  char32_t value = byte(0) & lead_mask;
  for (std::size_t i = 1; i < length; ++i) value = (value << 6) | (byte(i) & 0x3F);
  return value;
}

}  // namespace

Utf8Sequence inspect_utf8(std::string_view text, std::size_t offset) {
  const unsigned char first = static_cast<unsigned char>(text[offset]);
  const LeadByte lead = describe_lead_byte(first);
  if (lead.length == 0) return {Utf8Sequence::Kind::kInvalid, 1};
  if (lead.length == 1) return {Utf8Sequence::Kind::kComplete, 1, first};
  std::size_t have = 1;
  for (; have < lead.length; ++have) {
    if (offset + have >= text.size()) return {Utf8Sequence::Kind::kTruncated, have};
    const unsigned char byte = static_cast<unsigned char>(text[offset + have]);
    const bool fits =
        have == 1 ? (byte >= lead.second_low && byte <= lead.second_high) : is_continuation(byte);
    if (!fits) return {Utf8Sequence::Kind::kInvalid, have};
  }
  return {Utf8Sequence::Kind::kComplete, have, decode_valid(text, offset, have)};
}

std::optional<std::size_t> find_invalid_utf8(std::string_view text) {
  std::size_t offset = 0;
  while (offset < text.size()) {
    // ASCII fast path: most text is mostly ASCII, and ASCII bytes are always valid.
    if (static_cast<unsigned char>(text[offset]) < 0x80) {
      ++offset;
      continue;
    }
    const Utf8Sequence sequence = inspect_utf8(text, offset);
    if (sequence.kind != Utf8Sequence::Kind::kComplete) return offset;
    offset += sequence.length;
  }
  return std::nullopt;
}

std::string replace_invalid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const Utf8Sequence sequence = inspect_utf8(bytes, offset);
    if (sequence.kind == Utf8Sequence::Kind::kComplete) {
      out.append(bytes.substr(offset, sequence.length));
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
    }
    offset += sequence.length;
  }
  return out;
}

void append_utf8(std::string& out, char32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

}  // namespace llama4
