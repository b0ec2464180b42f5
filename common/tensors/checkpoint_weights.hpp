// Where each weight lives in a Hugging Face Llama 4 checkpoint, and loading one with its shape
// checked.
//
// A released checkpoint is the multimodal model, so the text model's tensors carry the prefix
// "language_model." (language_model.model.layers.0.self_attn.q_proj.weight,
// language_model.lm_head.weight); a text-only export (Llama4ForCausalLM) has no prefix
// (model.layers.0...., lm_head.weight). WeightNames looks at which one the checkpoint holds and
// spells every name accordingly.
//
// load_weight() fetches a tensor (a zero-copy view) and checks its shape against what the config
// implies, so a config that disagrees with the weights is a clear error naming the tensor, the
// shape found and the shape expected, instead of a crash deep inside a matrix product.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/tensors/checkpoint.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {

class WeightNames {
 public:
  explicit WeightNames(const Checkpoint& checkpoint);

  std::string embedding() const { return model_ + "embed_tokens.weight"; }  // [V, H]
  std::string final_norm() const { return model_ + "norm.weight"; }         // [H]
  std::string lm_head() const { return prefix_ + "lm_head.weight"; }        // [V, H]
  // A tensor of decoder layer `layer`: layer(3, "self_attn.q_proj.weight").
  std::string layer(std::int64_t layer, std::string_view name) const;

  // "language_model." or "" (what the checkpoint uses).
  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
  std::string model_;  // prefix_ + "model."
};

// One tensor of the text model, as a config implies it.
struct WeightShape {
  enum class Kind { embedding, norm, matrix };
  std::string name;  // canonical: model.layers.3.self_attn.q_proj.weight, lm_head.weight
  Shape shape;
  Kind kind = Kind::matrix;
  std::int64_t fan_in = 0;  // matrices: how many inputs each output sums over
};

// Every tensor a config implies, in model order (embedding, each layer, final norm, LM head; no
// LM head when the config ties it to the embedding). The synthetic models are made from this list,
// and chapter 11 trains exactly these tensors.
std::vector<WeightShape> text_model_weights(const ModelConfig& config);

// The tensor `name`, which must have shape `expected` and a float dtype (F32, BF16 or F16) or, in
// a quantized checkpoint (chapter 12), a block-quantized one.
Tensor load_weight(const Checkpoint& checkpoint, const std::string& name, const Shape& expected);

}  // namespace llama4
