// Chapter 08: the whole Llama 4 model on the CPU.
//
//   build/bin/chapter08_model                                  the golden tiny model, checked
//   build/bin/chapter08_model --model DIR --prompt "..."        a real checkpoint (Scout, Maverick)
//   build/bin/chapter08_model --model DIR --chat                a conversation
//   build/bin/chapter08_model --synthetic 1b -n 32              speed on a scaled-down Llama 4
//   build/bin/chapter08_model --help                           everything else
//
// The program itself (options, modes, streaming, the report) lives in program.cpp, shared with the
// GPU port of chapter 09. What is specific to this chapter is one line: the model runs on the CPU.
#include "chapters/08_model/program.hpp"
#include "common/model/inference_session.hpp"

int main(int argc, char** argv) {
  const auto on_the_cpu = [](llama4::Model model, std::int64_t context_length,
                             const llama4::ProgramOptions&) {
    return std::make_unique<llama4::CpuSession>(std::move(model), context_length);
  };
  return llama4::run_model_program(argc, argv, on_the_cpu, /*gpu=*/false);
}
