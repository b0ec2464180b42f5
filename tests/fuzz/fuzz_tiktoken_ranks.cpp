// libFuzzer target: parse_tiktoken_ranks on arbitrary bytes. It must either return a vocabulary
// or throw llama4::Error — never crash, hang or touch memory it does not own (ASan + UBSan).
// A vocabulary it accepts must survive a write/read round trip. Built and run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/tensors/error.hpp"
#include "common/tokenizer/tiktoken_ranks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const llama4::TokenVocabulary vocabulary = llama4::parse_tiktoken_ranks(text, "fuzz");
    const llama4::TokenVocabulary again =
        llama4::parse_tiktoken_ranks(llama4::format_tiktoken_ranks(vocabulary), "round trip");
    if (again.size() != vocabulary.size()) __builtin_trap();
    for (std::int32_t id = 0; id < vocabulary.size(); ++id) {
      if (again.bytes(id) != vocabulary.bytes(id) || vocabulary.find(vocabulary.bytes(id)) != id) {
        __builtin_trap();
      }
    }
  } catch (const llama4::Error&) {
    // Refused with a message: the expected outcome for almost every input.
  }
  return 0;
}
