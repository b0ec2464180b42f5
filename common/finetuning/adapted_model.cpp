#include "common/finetuning/adapted_model.hpp"

#include "common/finetuning/adapter_file.hpp"

namespace llama4 {

Model with_adapter(const Model& base, const std::filesystem::path& adapter_directory) {
  LoraAdapter adapter = load_adapter(adapter_directory, base.config());
  return Model(base.config(), merge_adapter(base.checkpoint(), adapter));
}

}  // namespace llama4
