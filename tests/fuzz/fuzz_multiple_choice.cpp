// libFuzzer target: the multiple-choice questions chapter08_model --multiple-choice reads (JSON
// Lines). read_multiple_choice must give questions that can be scored (at least 2 non-empty
// choices, an answer among them) or a llama4::Error naming the file and line. Built and run by
// scripts/fuzz.sh; seed: golden/eval/bible-cloze.jsonl.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/model/multiple_choice.hpp"
#include "common/tensors/error.hpp"
#include "tests/fuzz/fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama4;
  const std::filesystem::path path = fuzz::write_scratch_file(
      "questions.jsonl", std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    for (const MultipleChoiceQuestion& question : read_multiple_choice(path)) {
      if (question.choices.size() < 2 || question.answer < 0 ||
          question.answer >= static_cast<std::int64_t>(question.choices.size())) {
        __builtin_trap();
      }
      for (const std::string& choice : question.choices) {
        if (choice.empty()) __builtin_trap();
      }
    }
  } catch (const Error&) {
  }
  return 0;
}
