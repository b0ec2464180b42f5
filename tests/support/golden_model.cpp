#include "tests/support/golden_model.hpp"

#include <map>
#include <memory>
#include <mutex>

#include "common/debugging/data_paths.hpp"
#include "tests/support/test_support.hpp"

namespace llama4::testing {

Tensor GoldenModel::golden(const std::string& case_name, const std::string& name) const {
  return activations->tensor(case_name + "." + name);
}

Tensor GoldenModel::golden(const std::string& case_name, std::int64_t layer,
                           const std::string& stage) const {
  return golden(case_name, "layers." + std::to_string(layer) + "." + stage);
}

bool GoldenModel::has_golden(const std::string& case_name, std::int64_t layer,
                             const std::string& stage) const {
  return activations->contains(case_name + ".layers." + std::to_string(layer) + "." + stage);
}

std::vector<std::int32_t> GoldenModel::ids(const std::string& case_name,
                                           const std::string& name) const {
  const Tensor values = golden(case_name, name);
  const std::int32_t* data = values.data<std::int32_t>();
  return std::vector<std::int32_t>(data, data + values.numel());
}

std::vector<std::int32_t> GoldenModel::tokens(const std::string& case_name) const {
  return ids(case_name, "tokens");
}

Tensor GoldenModel::weight(const std::string& name) const {
  return checkpoint.tensor(names.prefix() + "model." + name);
}

const GoldenModel& golden_model(const char* name) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<GoldenModel>> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[name];
  if (!slot) {
    Checkpoint checkpoint = Checkpoint::open(golden_model_dir(name));
    ModelConfig config = load_model_config(golden_model_dir(name));
    WeightNames names(checkpoint);
    slot = std::make_unique<GoldenModel>(GoldenModel{name, std::move(checkpoint), std::move(config),
                                                     std::move(names), &golden_activations(name)});
  }
  return *slot;
}

}  // namespace llama4::testing
