#include "common/training/parameters.hpp"

#include <algorithm>

#include "common/tensors/error.hpp"

namespace llama4 {

void Parameters::add(const std::string& name, const Shape& shape, bool decays) {
  if (index_.count(name) != 0) fail("parameter \"", name, "\" is declared twice");
  std::int64_t size = 1;
  for (const std::int64_t d : shape) size *= d;
  index_[name] = infos_.size();
  infos_.push_back({name, shape, total_, size, decays});
  total_ += size;
  values_.reset();
  gradients_.reset();
}

void Parameters::allocate() {
  if (values_) return;
  values_ = std::make_shared<std::vector<float>>(static_cast<std::size_t>(total_), 0.0f);
  gradients_ = std::make_shared<std::vector<float>>(static_cast<std::size_t>(total_), 0.0f);
}

const ParameterInfo& Parameters::info(const std::string& name) const {
  const auto found = index_.find(name);
  if (found == index_.end()) fail("the model being trained has no parameter \"", name, "\"");
  return infos_[found->second];
}

Tensor Parameters::value(const std::string& name) {
  allocate();
  const ParameterInfo& p = info(name);
  return Tensor::view(values_->data() + p.offset, p.shape, DType::F32, values_);
}

Tensor Parameters::gradient(const std::string& name) {
  allocate();
  const ParameterInfo& p = info(name);
  return Tensor::view(gradients_->data() + p.offset, p.shape, DType::F32, gradients_);
}

std::span<float> Parameters::values() {
  allocate();
  return *values_;
}

std::span<float> Parameters::gradients() {
  allocate();
  return *gradients_;
}

void Parameters::zero_gradients() {
  allocate();
  std::fill(gradients_->begin(), gradients_->end(), 0.0f);
}

}  // namespace llama4
