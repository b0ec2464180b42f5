// libFuzzer target: the conversation files chapter13_finetune reads (JSON Lines). Every
// conversation read must end with the assistant's message and tokenize with a loss mask as long as
// its tokens; packing must place every token or give a llama4::Error naming the line. Anything else
// must be a llama4::Error naming the file and line. Built and run by scripts/fuzz.sh; seeds:
// hand-made conversations (tests/fuzz/make_seeds.py).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/debugging/data_paths.hpp"
#include "common/finetuning/conversation_file.hpp"
#include "common/finetuning/packing.hpp"
#include "common/finetuning/supervised_example.hpp"
#include "common/tensors/error.hpp"
#include "tests/fuzz/fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama4;
  static const Tokenizer tokenizer =
      Tokenizer::load(std::filesystem::path(LLAMA4_SOURCE_DIR) / "golden/tokenizer/toy.tiktoken");
  const std::filesystem::path path = fuzz::write_scratch_file(
      "conversations.jsonl", std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    std::vector<SupervisedExample> examples;
    for (const Conversation& conversation : read_conversation_file(path)) {
      if (conversation.messages.empty() || conversation.messages.back().role != "assistant")
        __builtin_trap();
      examples.push_back(tokenize_conversation(tokenizer, conversation));
      if (examples.back().tokens.size() != examples.back().trained.size()) __builtin_trap();
    }
    const PackedSequences packed = pack_examples(examples, 64, tokenizer.pad_id());
    if (static_cast<std::int64_t>(packed.ids.size()) != packed.sequences() * 65) __builtin_trap();
  } catch (const Error&) {
  }
  return 0;
}
