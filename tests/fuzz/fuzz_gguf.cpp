// libFuzzer target: a GGUF file as chapter08_model --model FILE.gguf reads it (chapter 12).
//
// The input is the whole file. open_gguf_model must give a config and a checkpoint that chapter
// 08's Model accepts and runs for three tokens, or a llama4::Error naming the file and the key or
// tensor at fault. Built and run by scripts/fuzz.sh; seeds: the golden tiny model's Q4_0 file
// (golden/data/gguf/) and a header-only file (tests/fuzz/make_seeds.py).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/model/model.hpp"
#include "common/quantization/gguf_model.hpp"
#include "common/tensors/error.hpp"
#include "tests/fuzz/fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama4;
  fuzz::write_scratch_file("model.gguf",
                           std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    GgufModel gguf = open_gguf_model(fuzz::scratch_directory() / "model.gguf");
    const Model model(std::move(gguf.config), std::move(gguf.checkpoint));
    fuzz::run_a_few_tokens(model);
  } catch (const Error&) {
  }
  return 0;
}
