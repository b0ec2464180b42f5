// libFuzzer target: the command line of chapter08_model and chapter09_hip (parse_program_options),
// and the checks the program then applies to what it parsed (sampling options, thread count).
// The input is the arguments, separated by NUL bytes. Every outcome is options or a llama4::Error.
// Options that name files (--prompt-file, --tokens @FILE, --perplexity) are read, so the target
// runs in an empty scratch directory and skips arguments containing '/': the fuzzer may only
// name files that do not exist, or the directory itself. Built and run by scripts/fuzz.sh.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "chapters/08_model/program.hpp"
#include "common/model/sampler.hpp"
#include "common/program/thread_count.hpp"
#include "common/tensors/error.hpp"
#include "tests/fuzz/fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama4;
  static const bool in_scratch = [] {
    const auto directory = fuzz::scratch_directory() / "empty";
    std::filesystem::create_directories(directory);
    return ::chdir(directory.c_str()) == 0;
  }();
  if (!in_scratch) __builtin_trap();
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (text.find('/') != std::string::npos) return 0;
  std::vector<std::string> arguments = {"chapter08_model"};
  std::size_t start = 0;
  while (start <= text.size() && arguments.size() < 64) {
    const std::size_t end = std::min(text.find('\0', start), text.size());
    arguments.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  try {
    const std::optional<ProgramOptions> options =
        parse_program_options(static_cast<int>(arguments.size()), argv.data(), true);
    if (!options) return 0;  // --help
    Sampler sampler(options->sampling);
    if (options->threads) {
      // Checked, then put back: the thread count is process-wide.
      set_thread_count(*options->threads);
      set_thread_count(1);
    }
  } catch (const Error&) {
  }
  return 0;
}
