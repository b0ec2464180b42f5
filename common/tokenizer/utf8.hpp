// UTF-8: how text is stored as bytes.
//
// A tokenizer works on bytes, but the split pattern (common/tokenizer/pretokenizer.hpp) works on
// characters, so the text has to be decodable. UTF-8 writes a code point as 1 to 4 bytes:
//
//   U+0000..U+007F     0xxxxxxx
//   U+0080..U+07FF     110xxxxx 10xxxxxx
//   U+0800..U+FFFF     1110xxxx 10xxxxxx 10xxxxxx            (not U+D800..U+DFFF, the surrogates)
//   U+10000..U+10FFFF  11110xxx 10xxxxxx 10xxxxxx 10xxxxxx
//
// "Valid" here is the strict definition Python and Rust use: no overlong forms (0xC0 0xAF for "/"),
// no surrogates, nothing above U+10FFFF. Tokens, on the other hand, are arbitrary bytes: one emoji
// may be split over two tokens, so decoding ids one at a time can produce half a character. The
// helpers below say where a sequence is complete, broken, or merely cut short.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace llama4 {

// What the bytes starting at some offset hold.
struct Utf8Sequence {
  enum class Kind {
    kComplete,   // a valid character of `length` bytes
    kInvalid,    // `length` bytes that can never be part of a valid character (replace them)
    kTruncated,  // the text ends after `length` bytes that begin a valid character
  };
  Kind kind = Kind::kComplete;
  std::size_t length = 0;
  char32_t code_point = 0;  // only for kComplete
};

// Looks at the sequence that starts at text[offset] (offset < text.size()). For invalid bytes the
// length is the "maximal subpart" of Unicode's chapter 3: the longest prefix of a valid sequence,
// or 1 byte. Replacing each such run with one U+FFFD is what Python's
// bytes.decode("utf-8", errors="replace") does, and so what Meta's tokenizer.decode returns.
Utf8Sequence inspect_utf8(std::string_view text, std::size_t offset);

// Byte offset of the first byte that does not start a complete, valid character; nullopt if the
// whole text is valid UTF-8.
std::optional<std::size_t> find_invalid_utf8(std::string_view text);

// The bytes with every invalid or truncated sequence replaced by U+FFFD (EF BF BD).
std::string replace_invalid_utf8(std::string_view bytes);

// Appends the UTF-8 encoding of a code point (which must be valid: <= U+10FFFF, not a surrogate).
void append_utf8(std::string& out, char32_t code_point);

}  // namespace llama4
