// A golden tiny model for tests: its checkpoint, config, weight names and golden activations.
#pragma once

#include <string>

#include "common/tensors/checkpoint.hpp"
#include "common/tensors/checkpoint_weights.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/safetensors.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4::testing {

struct GoldenModel {
  std::string model_name;  // "tiny" or "tiny-maverick"
  Checkpoint checkpoint;
  ModelConfig config;
  WeightNames names;
  const SafetensorsFile* activations;

  // The golden tensor "<case>.<name>", e.g. golden("full", "layers.0.q").
  Tensor golden(const std::string& case_name, const std::string& name) const;
  // golden("full", "layers.<layer>.<stage>")
  Tensor golden(const std::string& case_name, std::int64_t layer, const std::string& stage) const;
  bool has_golden(const std::string& case_name, std::int64_t layer, const std::string& stage) const;
  // The int32 golden tensor "<case>.<name>" as ids, e.g. ids("greedy", "prompt").
  std::vector<std::int32_t> ids(const std::string& case_name, const std::string& name) const;
  // The case's token ids: ids(case_name, "tokens").
  std::vector<std::int32_t> tokens(const std::string& case_name) const;
  // A weight by its name inside the text model ("layers.0.input_layernorm.weight", "norm.weight").
  Tensor weight(const std::string& name) const;
};

// Opened once per process and cached.
const GoldenModel& golden_model(const char* name);

}  // namespace llama4::testing
