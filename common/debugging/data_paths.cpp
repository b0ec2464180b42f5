#include "common/debugging/data_paths.hpp"

#include <cstdlib>
#include <string>

namespace llama4 {
namespace {

// LLAMA4_SOURCE_DIR is the repository root, set by common/CMakeLists.txt.
std::filesystem::path from_environment_or(const char* variable,
                                          const std::filesystem::path& fallback) {
  const char* value = std::getenv(variable);
  if (value != nullptr && *value != '\0') return value;
  return fallback;
}

}  // namespace

std::filesystem::path golden_data_dir() {
  return from_environment_or("LLAMA4_GOLDEN_DIR",
                             std::filesystem::path(LLAMA4_SOURCE_DIR) / "golden" / "data");
}

std::filesystem::path default_tokenizer_path() {
  return from_environment_or("LLAMA4_TOKENIZER", (std::filesystem::path(LLAMA4_SOURCE_DIR) / ".." /
                                                  "shared" / "llama4" / "tokenizer.model")
                                                     .lexically_normal());
}

std::filesystem::path golden_model_dir(const char* name) {
  return golden_data_dir() / name;
}

std::filesystem::path checkpoint_tokenizer_path(const std::filesystem::path& directory) {
  for (const char* name : {"tokenizer.model", kTrainedTokenizerFile, "tokenizer.json"}) {
    if (std::filesystem::exists(directory / name)) return directory / name;
  }
  return {};
}

std::filesystem::path trained_model_dir() {
  return from_environment_or("LLAMA4_TRAINED_MODEL",
                             std::filesystem::path(LLAMA4_SOURCE_DIR) / "golden" / "llama4-bible");
}

std::filesystem::path chat_adapter_dir() {
  return from_environment_or("LLAMA4_CHAT_ADAPTER", std::filesystem::path(LLAMA4_SOURCE_DIR) /
                                                        "golden" / "llama4-bible-chat");
}

std::filesystem::path golden_activations_path(const char* model_name) {
  return golden_data_dir() / ("activations-" + std::string(model_name) + ".safetensors");
}

}  // namespace llama4
