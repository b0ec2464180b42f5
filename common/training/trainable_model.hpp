// TrainableModel: the Llama 4 text model with f32 weights that can be trained.
//
// The inference Model (model/model.hpp) reads bf16 weights in place and keeps a KV cache. This
// class holds f32 master weights and their gradients (parameters.hpp) and runs the whole model
// over a batch of sequences at once, forward and then backward:
//
//   tokens [B, T+1]  ->  inputs [B, T] (all but the last), targets [B, T] (all but the first)
//   embedding -> L decoder layers -> final norm -> LM head -> logits [B·T, V]
//   loss = mean over the B·T positions of -log p(target)        (cross_entropy.hpp)
//   backward: every step of that list in reverse, each weight's gradient summed over the batch
//
// Every sequence starts at position 0 (RoPE, chunks and the NoPE temperature restart), as a
// prompt does at inference. The same f32 weights can be handed to the inference Model
// (checkpoint()), which is how the tests check that training's forward equals inference's.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/debugging/activation_recorder.hpp"
#include "common/tensors/checkpoint.hpp"
#include "common/tensors/model_config.hpp"
#include "common/training/decoder_layer_backward.hpp"
#include "common/training/parameters.hpp"

namespace llama4 {

// What one training step reads. Chapter 11 gives only the tokens; chapter 13 also packs several
// conversations into one sequence (positions) and trains on the assistant's words only (loss mask).
struct TrainingBatch {
  std::span<const std::int32_t> tokens;  // [B, T+1]: inputs are ids 0..T-1, targets ids 1..T
  std::int64_t sequences = 1;            // B
  // [B, T], optional: each input's position in its own document (0 starts a new one; a document
  // attends only to itself). Empty: every sequence is one document at positions 0..T-1.
  std::span<const std::int32_t> positions = {};
  // [B, T], optional: 1 where the target counts in the loss. Empty: every target counts.
  std::span<const std::uint8_t> loss_mask = {};
};

class TrainableModel {
 public:
  // Every weight the config implies (tensors/checkpoint_weights.hpp), all zero.
  explicit TrainableModel(ModelConfig config);

  // Copies every weight from a checkpoint (bf16/f16/f32, with or without the "language_model."
  // prefix), widened to f32. A missing tensor or a wrong shape is an Error naming it.
  void load_weights(const Checkpoint& checkpoint);

  // tokens: B sequences of T+1 ids, row-major. Returns the mean cross-entropy of predicting ids
  // 1..T of each sequence from the ids before them, and sets every parameter's gradient to the
  // gradient of that mean. The recorders, when given, receive the activations and the gradients
  // of every stage under the golden data's names (a batch's rows, sequence after sequence).
  double forward_backward(std::span<const std::int32_t> tokens, std::int64_t sequences,
                          ActivationRecorder* activations = nullptr,
                          ActivationRecorder* gradients = nullptr);

  // The same loss, forward only (validation).
  double loss(std::span<const std::int32_t> tokens, std::int64_t sequences);

  // The same three for a batch with positions and a loss mask (chapter 13). The loss is the mean
  // over the counted targets; logits() returns [B·T, V].
  double forward_backward(const TrainingBatch& batch, ActivationRecorder* activations = nullptr,
                          ActivationRecorder* gradients = nullptr);
  double loss(const TrainingBatch& batch);
  Tensor logits(const TrainingBatch& batch);

  const ModelConfig& config() const { return config_; }
  Parameters& parameters() { return parameters_; }

  // The f32 weights as an in-memory checkpoint with canonical names (views, no copy).
  Checkpoint checkpoint();

 private:
  struct Pass;  // one forward pass's activations
  void forward(const TrainingBatch& batch, Pass& pass, ActivationRecorder* recorder);
  void bind();  // points weights_ and gradients_ at the parameter buffers

  ModelConfig config_;
  Parameters parameters_;
  std::vector<float> inverse_frequencies_;
  struct Views {
    Tensor embedding;  // [V, H]
    std::vector<DecoderLayerWeights> layers;
    Tensor final_norm;  // [H]
    Tensor lm_head;     // [V, H] (the embedding when tied)
  };
  Views weights_, gradients_;
};

}  // namespace llama4
