#include "common/debugging/activation_recorder.hpp"

#include <cstring>

#include "common/tensors/error.hpp"

namespace llama4 {

void ActivationRecorder::record(std::string_view name, const Tensor& tensor) {
  calls_[std::string(name)].push_back(tensor.clone());  // a copy: the caller reuses its buffers
}

void ActivationRecorder::record(std::int64_t layer, std::string_view stage, const Tensor& tensor) {
  record("layers." + std::to_string(layer) + "." + std::string(stage), tensor);
}

const std::vector<Tensor>& ActivationRecorder::calls_of(std::string_view name) const {
  const auto found = calls_.find(name);
  if (found == calls_.end()) fail("no activation named \"", name, "\" was recorded");
  return found->second;
}

Tensor ActivationRecorder::concatenated(std::string_view name) const {
  const std::vector<Tensor>& calls = calls_of(name);
  Shape shape = calls.front().shape();
  shape[0] = 0;
  for (const Tensor& call : calls) {
    Shape rest = call.shape();
    rest[0] = shape[0];
    if (rest != shape) {
      fail("activation \"", name, "\" changes shape between calls (", shape_string(call.shape()),
           ")");
    }
    shape[0] += call.dim(0);
  }
  Tensor joined = Tensor::zeros(shape, calls.front().dtype());
  std::size_t offset = 0;
  for (const Tensor& call : calls) {
    std::memcpy(joined.mutable_raw_data() + offset, call.raw_data(), call.nbytes());
    offset += call.nbytes();
  }
  return joined;
}

Tensor ActivationRecorder::last(std::string_view name) const {
  return calls_of(name).back();
}

std::vector<std::string> ActivationRecorder::names() const {
  std::vector<std::string> names;
  for (const auto& [name, calls] : calls_) names.push_back(name);
  return names;
}

}  // namespace llama4
