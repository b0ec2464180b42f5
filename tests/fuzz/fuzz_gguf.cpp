// libFuzzer target: a GGUF file as chapter08_model --model FILE.gguf reads it (chapter 12).
//
// The input is the whole file. load_gguf_tokenizer must give a tokenizer (or none), and
// open_gguf_model a config and a checkpoint that chapter 08's Model accepts and runs for three
// tokens, or a llama4::Error naming the file and the key or tensor at fault. Built and run by
// scripts/fuzz.sh; seeds: the golden tiny model's Q4_0 file, chapter 11's vocabulary
// (golden/data/gguf/) and a header-only file (tests/fuzz/make_seeds.py).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/model/model.hpp"
#include "common/quantization/gguf_model.hpp"
#include "common/quantization/gguf_tokenizer.hpp"
#include "common/tensors/error.hpp"
#include "tests/fuzz/fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama4;
  const std::filesystem::path path = fuzz::write_scratch_file(
      "model.gguf", std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    if (const std::optional<Tokenizer> tokenizer = load_gguf_tokenizer(path)) {
      if (tokenizer->decode(tokenizer->encode("In the beginning")) != "In the beginning")
        __builtin_trap();
    }
  } catch (const Error&) {
  }
  try {
    GgufModel gguf = open_gguf_model(path);
    const Model model(std::move(gguf.config), std::move(gguf.checkpoint));
    fuzz::run_a_few_tokens(model);
  } catch (const Error&) {
  }
  return 0;
}
