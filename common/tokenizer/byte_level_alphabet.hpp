// The byte-level alphabet: how Hugging Face tokenizer.json files spell token bytes as text.
//
// A JSON vocabulary needs printable keys, but tokens are raw bytes. GPT-2 introduced a fixed
// mapping of the 256 byte values to 256 visible characters: the printable Latin-1 bytes
// ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves, and the other 68 (control bytes, space,
// 0x7F..0xA0, 0xAD) are moved up to U+0100, U+0101, ... in byte order. So a space (0x20) is written
// 'Ġ' (U+0120) and a newline 'Ċ' (U+010A): the token " the" is the key "Ġthe" in tokenizer.json.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace llama4 {

// The character (as a code point) that stands for a byte.
char32_t byte_to_alphabet_char(unsigned char byte);

// "Ġthe" -> " the"; nullopt if the text is not valid UTF-8 or holds a character outside the
// alphabet.
std::optional<std::string> alphabet_text_to_bytes(std::string_view text);

// " the" -> "Ġthe" (UTF-8).
std::string bytes_to_alphabet_text(std::string_view bytes);

}  // namespace llama4
