#include "common/tokenizer/utf8_stream_decoder.hpp"

#include "common/tokenizer/utf8.hpp"

namespace llama4 {

std::string Utf8StreamDecoder::push(std::int32_t id) {
  pending_ += tokenizer_->token_bytes(id);
  std::string ready;
  std::size_t offset = 0;
  while (offset < pending_.size()) {
    const Utf8Sequence sequence = inspect_utf8(pending_, offset);
    if (sequence.kind == Utf8Sequence::Kind::kTruncated) break;  // wait for the next token
    if (sequence.kind == Utf8Sequence::Kind::kComplete) {
      ready.append(pending_, offset, sequence.length);
    } else {
      ready.append("\xEF\xBF\xBD");
    }
    offset += sequence.length;
  }
  pending_.erase(0, offset);
  return ready;
}

std::string Utf8StreamDecoder::flush() {
  std::string rest = replace_invalid_utf8(pending_);
  pending_.clear();
  return rest;
}

}  // namespace llama4
