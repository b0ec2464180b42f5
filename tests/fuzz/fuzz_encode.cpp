// libFuzzer target: the encoder on arbitrary bytes, with the hand-made vocabulary and, when
// $LLAMA4_TOKENIZER names it, Meta's tokenizer.model. Checks, for every input:
//   - invalid UTF-8 is refused with llama4::Error, and its replace_invalid_utf8() form encodes;
//   - decode(encode(text)) == text, with and without special tokens allowed;
//   - the heap and the scan versions of byte-pair merging agree on every piece;
//   - the streaming decoder's output equals the replace-decoded bytes.
// Built and run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "common/tensors/error.hpp"
#include "common/tokenizer/byte_pair_encoding.hpp"
#include "common/tokenizer/tokenizer.hpp"
#include "common/tokenizer/toy_vocabulary.hpp"
#include "common/tokenizer/utf8.hpp"
#include "common/tokenizer/utf8_stream_decoder.hpp"

namespace {

using llama4::Tokenizer;

const Tokenizer* real_tokenizer() {
  static const std::unique_ptr<Tokenizer> tokenizer = []() -> std::unique_ptr<Tokenizer> {
    const char* path = std::getenv("LLAMA4_TOKENIZER");
    if (path == nullptr || *path == '\0') return nullptr;
    return std::make_unique<Tokenizer>(Tokenizer::load(path));
  }();
  return tokenizer.get();
}

void check(const Tokenizer& tokenizer, std::string_view text) {
  for (const bool allow_special : {false, true}) {
    const std::vector<std::int32_t> ids = tokenizer.encode(text, {.allow_special = allow_special});
    if (tokenizer.decode(ids) != text) __builtin_trap();
    llama4::Utf8StreamDecoder stream(tokenizer);
    std::string streamed;
    for (const std::int32_t id : ids) streamed += stream.push(id);
    streamed += stream.flush();
    if (streamed != text) __builtin_trap();  // valid input: replacement changes nothing
  }
  for (const std::string_view piece : tokenizer.pretokenizer().split(text)) {
    if (piece.size() < 2 || piece.size() > 300) continue;
    if (llama4::byte_pair_merge_with_heap(tokenizer.vocabulary(), piece) !=
        llama4::byte_pair_merge_by_scanning(tokenizer.vocabulary(), piece)) {
      __builtin_trap();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Tokenizer toy = Tokenizer::from_vocabulary(llama4::toy_vocabulary());
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string replaced;
  if (llama4::find_invalid_utf8(text)) {
    try {
      toy.encode(text);
      __builtin_trap();  // invalid UTF-8 must be refused
    } catch (const llama4::Error&) {
    }
    replaced = llama4::replace_invalid_utf8(text);
    text = replaced;
  }
  check(toy, text);
  if (const Tokenizer* real = real_tokenizer()) check(*real, text);
  return 0;
}
