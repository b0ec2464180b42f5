// Training a LoRA adapter, by the chain rule through the merge.
//
// The model computes with W' = W + s·B·A (s = α / r; lora.hpp). Its backward pass (chapter 11)
// already gives G = ∂L/∂W', the gradient a full fine-tune would apply to W'. Since W' depends on
// A and B only through the product B·A:
//
//   ∂L/∂B = s · G · Aᵀ        [out, in] · [in, r]  -> [out, r]
//   ∂L/∂A = s · Bᵀ · G        [r, out] · [out, in] -> [r, in]
//
// and W gets no update (it is frozen). So a LoRA step here is: merge (W' = W + s·B·A, from a copy
// of the frozen W), forward and backward as in chapter 11, project G onto A and B.
//
// The cost, measured in the chapter's README: this computes the full G, so a LoRA step costs what
// a full step costs (a little more: the merge). What LoRA saves here is the optimizer: AdamW's two
// moments, the f32 master copy and the update for 2·r·(in + out) numbers per matrix instead of
// in·out. Libraries that also save the compute never form G: they run x·Aᵀ·Bᵀ as a side branch of
// every projection and differentiate that (an exercise of the chapter).
#pragma once

#include <vector>

#include "common/finetuning/lora.hpp"
#include "common/training/trainable_model.hpp"

namespace llama4 {

class LoraTraining {
 public:
  // Keeps a copy of every weight the adapter targets (the frozen W); model and adapter must
  // outlive this object.
  LoraTraining(TrainableModel& model, LoraAdapter& adapter);

  // Merges, runs the model forward and backward, and sets the adapter's gradients (the model's own
  // gradients are scratch). Returns the loss.
  double forward_backward(const TrainingBatch& batch);
  double loss(const TrainingBatch& batch);
  Tensor logits(const TrainingBatch& batch);

 private:
  void merge();  // every target: W' = W + s·B·A, written into the model's weights

  TrainableModel& model_;
  LoraAdapter& adapter_;
  std::vector<std::vector<float>> frozen_;  // W of each target, [out·in]
};

}  // namespace llama4
