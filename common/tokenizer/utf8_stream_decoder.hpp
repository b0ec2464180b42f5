// Utf8StreamDecoder: printing tokens as they are generated, one id at a time.
//
// A token is a byte string, not a character: "👋" (F0 9F 91 8B) may come as two tokens of two
// bytes each. Printing each token's bytes as it arrives would print half a character, which a
// terminal shows as garbage. The decoder keeps back a UTF-8 sequence that is cut short at the end
// and prints it once the next token completes it.
//
// Bytes that can never become valid UTF-8 (a stray continuation byte, say) are replaced with
// U+FFFD, one per "maximal subpart", exactly like Python's bytes.decode(errors="replace"), which
// is what Meta's tokenizer.decode returns. So the concatenated output of push() and flush() always
// equals replace_invalid_utf8(tokenizer.decode(all ids)), and is always valid UTF-8.
#pragma once

#include <cstdint>
#include <string>

#include "common/tokenizer/tokenizer.hpp"

namespace llama4 {

class Utf8StreamDecoder {
 public:
  explicit Utf8StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}

  // The text that became complete with this token (possibly empty). Throws llama4::Error for an
  // id out of range.
  std::string push(std::int32_t id);
  // Whatever is still held back, as U+FFFD (the stream ended inside a character). Resets.
  std::string flush();

  // Bytes held back, waiting for the rest of a character.
  std::size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer* tokenizer_;
  std::string pending_;
};

}  // namespace llama4
