// Base64: how tokenizer.model writes token bytes as text.
//
// Every 3 bytes become 4 characters from A-Z a-z 0-9 + / (6 bits each); the last group is padded
// with '=' so the length is a multiple of 4: "IQ==" is the single byte "!" (0x21). Tokens are
// arbitrary bytes (half a UTF-8 character, a control byte), which is why a text file stores them
// in base64 rather than raw.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace llama4 {

// The decoded bytes, or nullopt if the text is not canonical standard base64: a character outside
// the alphabet, a length that is not a multiple of 4, '=' anywhere but the last one or two places,
// or padding bits that are not zero. (Python's b64decode would silently skip stray characters;
// tiktoken's Rust loader rejects them, and so do we.)
std::optional<std::string> decode_base64(std::string_view text);

std::string encode_base64(std::string_view bytes);

}  // namespace llama4
