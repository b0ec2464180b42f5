#include "common/finetuning/lora_training.hpp"

#include <algorithm>

#include "common/tensors/gemm.hpp"

namespace llama4 {

LoraTraining::LoraTraining(TrainableModel& model, LoraAdapter& adapter)
    : model_(model), adapter_(adapter) {
  for (const LoraTarget& target : adapter_.targets()) {
    const Tensor weight = model_.parameters().value(target.weight);
    frozen_.emplace_back(weight.data<float>(), weight.data<float>() + weight.numel());
  }
}

void LoraTraining::merge() {
  for (std::size_t t = 0; t < frozen_.size(); ++t) {
    Tensor weight = model_.parameters().value(adapter_.targets()[t].weight);
    adapter_.delta(t, weight);  // s·B·A
    float* w = weight.mutable_data<float>();
    const std::vector<float>& frozen = frozen_[t];
    for (std::size_t i = 0; i < frozen.size(); ++i) w[i] += frozen[i];
  }
}

double LoraTraining::forward_backward(const TrainingBatch& batch) {
  merge();
  const double loss = model_.forward_backward(batch);
  Parameters& lora = adapter_.parameters();
  lora.zero_gradients();
  const std::int64_t r = adapter_.settings().rank;
  const auto s = static_cast<float>(adapter_.settings().scale());
  for (const LoraTarget& target : adapter_.targets()) {
    const Tensor g = model_.parameters().gradient(target.weight);  // G = ∂L/∂W'  [out, in]
    const Tensor a = lora.value(target.lora_a());                  // [r, in]
    const Tensor b = lora.value(target.lora_b());                  // [out, r]
    Tensor da = lora.gradient(target.lora_a());
    Tensor db = lora.gradient(target.lora_b());
    // [excerpt lora_gradients]
    gemm(g.data<float>(), Transpose::no, a.data<float>(), Transpose::yes, db.mutable_data<float>(),
         target.out, r, target.in);  // ∂L/∂B = G · Aᵀ  (· s below)
    gemm(b.data<float>(), Transpose::yes, g.data<float>(), Transpose::no, da.mutable_data<float>(),
         r, target.in, target.out);  // ∂L/∂A = Bᵀ · G  (· s below)
    // [end excerpt]
    for (Tensor* gradient : {&da, &db}) {
      float* d = gradient->mutable_data<float>();
      for (std::int64_t i = 0; i < gradient->numel(); ++i) d[i] *= s;
    }
  }
  return loss;
}

double LoraTraining::loss(const TrainingBatch& batch) {
  merge();
  return model_.loss(batch);
}

Tensor LoraTraining::logits(const TrainingBatch& batch) {
  merge();
  return model_.logits(batch);
}

}  // namespace llama4
