#include "common/tensors/checkpoint_weights.hpp"

#include "common/tensors/error.hpp"

namespace llama4 {

WeightNames::WeightNames(const Checkpoint& checkpoint) {
  if (checkpoint.contains("language_model.model.embed_tokens.weight")) {
    prefix_ = "language_model.";
  } else if (!checkpoint.contains("model.embed_tokens.weight")) {
    fail("checkpoint ", checkpoint.location(),
         " has neither language_model.model.embed_tokens.weight nor model.embed_tokens.weight; "
         "is it a Llama 4 text model?");
  }
  model_ = prefix_ + "model.";
}

std::string WeightNames::layer(std::int64_t layer, std::string_view name) const {
  return model_ + "layers." + std::to_string(layer) + "." + std::string(name);
}

Tensor load_weight(const Checkpoint& checkpoint, const std::string& name, const Shape& expected) {
  if (!checkpoint.contains(name))
    fail("checkpoint ", checkpoint.location(), " has no tensor \"", name, "\"");
  const TensorEntry& entry = checkpoint.entry(name);
  if (entry.shape != expected) {
    fail("tensor \"", name, "\" in ", checkpoint.file_of(name), " has shape ",
         shape_string(entry.shape), " but the config implies ", shape_string(expected),
         "; does config.json belong to these weights?");
  }
  if (!is_floating_point(entry.dtype)) {
    fail("tensor \"", name, "\" in ", checkpoint.file_of(name), " has dtype ",
         dtype_name(entry.dtype), "; only F32, BF16 and F16 weights are supported");
  }
  return checkpoint.tensor(name);
}

}  // namespace llama4
