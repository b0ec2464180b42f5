// Parameters: every weight being trained, in f32, with its gradient.
//
// A checkpoint stores weights in bf16 (8 significant bits). Training cannot work in bf16: an
// update of 1e-4 to a weight of 1.0 is below bf16's resolution (1/128) and would be lost. So the
// trainer keeps "master weights" in f32, computes in f32, and rounds to bf16 only when it writes a
// checkpoint.
//
// All values live in ONE flat f32 buffer, and all gradients in a second buffer of the same layout:
// the optimizer, gradient clipping and the checkpoint writer then see the whole model as a single
// array, while the layers see each parameter as a Tensor view into it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/tensors/tensor.hpp"

namespace llama4 {

struct ParameterInfo {
  std::string name;  // the checkpoint's (canonical) name: model.layers.0.self_attn.q_proj.weight
  Shape shape;
  std::int64_t offset = 0;  // first element in the flat buffers
  std::int64_t size = 0;    // elements
  bool decays = false;      // AdamW's weight decay applies (matrices yes, norm weights no)
};

class Parameters {
 public:
  // Declares a parameter; the buffers are (re)allocated, zero-filled, on the first access after.
  void add(const std::string& name, const Shape& shape, bool decays);

  const std::vector<ParameterInfo>& infos() const { return infos_; }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  std::int64_t count() const { return total_; }  // elements over all parameters

  // Views of one parameter's value and gradient. An unknown name is an Error.
  Tensor value(const std::string& name);
  Tensor gradient(const std::string& name);

  std::span<float> values();
  std::span<float> gradients();
  void zero_gradients();

 private:
  const ParameterInfo& info(const std::string& name) const;
  void allocate();

  std::vector<ParameterInfo> infos_;
  std::map<std::string, std::size_t> index_;
  std::int64_t total_ = 0;
  std::shared_ptr<std::vector<float>> values_, gradients_;
};

}  // namespace llama4
