// libFuzzer target: parse_hf_tokenizer_json on arbitrary bytes. It must either return a
// vocabulary or throw llama4::Error — never crash (or leak an exception of another type, which
// would abort). Built and run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/tensors/error.hpp"
#include "common/tokenizer/hf_tokenizer_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const llama4::HfTokenizerJson file = llama4::parse_hf_tokenizer_json(text, "fuzz");
    for (std::int32_t id = 0; id < file.vocabulary.size(); ++id) {
      if (file.vocabulary.find(file.vocabulary.bytes(id)) != id) __builtin_trap();
    }
  } catch (const llama4::Error&) {
  }
  return 0;
}
