// libFuzzer target: a safetensors file (chapter 01). Opening it must give a SafetensorsFile or a
// llama4::Error. Every tensor it accepts must be readable end to end (ASan catches a view that
// runs past the mapping), and must survive a write/read round trip (a writer that produced a file
// its own reader refuses would be a finding). Built and run by
// scripts/fuzz.sh; seeds: the golden checkpoints and activations.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

#include "common/tensors/error.hpp"
#include "common/tensors/safetensors.hpp"
#include "tests/fuzz/fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama4;
  const auto path = fuzz::write_scratch_file(
      "fuzz.safetensors", std::string_view(reinterpret_cast<const char*>(data), size));
  std::optional<SafetensorsFile> file;
  try {
    file.emplace(path);
  } catch (const Error&) {
    return 0;  // refused with a message: the outcome for almost every input
  }
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : file->names()) {
    const Tensor tensor = file->tensor(name);
    if (tensor.nbytes() != file->entry(name).end - file->entry(name).begin) __builtin_trap();
    // Touch the first and the last byte of the view.
    volatile std::byte sink{};
    if (tensor.nbytes() > 0) sink = tensor.raw_data()[0] ^ tensor.raw_data()[tensor.nbytes() - 1];
    (void)sink;
    tensors.emplace_back(name, tensor);
  }
  // What was accepted must be written back and read again exactly (an Error here is a finding).
  const auto copy = fuzz::scratch_directory() / "copy.safetensors";
  write_safetensors(copy, tensors, file->metadata());
  const SafetensorsFile again(copy);
  if (again.names() != file->names() || again.metadata() != file->metadata()) __builtin_trap();
  for (const auto& [name, tensor] : tensors) {
    const Tensor reread = again.tensor(name);
    if (reread.shape() != tensor.shape() || reread.dtype() != tensor.dtype() ||
        std::memcmp(reread.raw_data(), tensor.raw_data(), tensor.nbytes()) != 0) {
      __builtin_trap();
    }
  }
  return 0;
}
