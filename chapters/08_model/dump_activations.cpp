// --dump-activations DIR: every stage of one forward pass over the prompt, saved under the golden
// data's names in DIR/activations.safetensors, for chapter08_compare to walk.
#include <filesystem>
#include <iostream>

#include "chapters/08_model/modes.hpp"
#include "common/debugging/activation_dump.hpp"
#include "common/model/generation.hpp"
#include "common/tensors/error.hpp"

namespace llama4 {

int dump_activations(InferenceSession& session, const std::vector<std::int32_t>& ids,
                     const std::string& directory) {
  std::error_code error;
  if (std::filesystem::exists(directory, error) &&
      !std::filesystem::is_directory(directory, error)) {
    fail("--dump-activations ", directory, ": exists and is not a directory");
  }
  std::filesystem::create_directories(directory, error);
  if (error) fail("--dump-activations: cannot create ", directory, ": ", error.message());
  ActivationRecorder recorder;
  const Tensor logits = session.forward(ids, LogitRows::all, &recorder);
  const std::filesystem::path path = std::filesystem::path(directory) / "activations.safetensors";
  write_activation_dump(path, recorder, ids);
  std::cout << "wrote " << recorder.names().size() << " activations of " << ids.size()
            << " tokens to " << path.string() << "\ncompare: chapter08_compare " << path.string()
            << " OTHER.safetensors\n";
  // After writing: the dump is what shows where the NaN came from.
  check_logits_are_finite(logits, 0, &recorder);
  return 0;
}

}  // namespace llama4
