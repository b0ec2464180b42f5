// Cross-entropy: the loss a language model is trained on, and its gradient.
//
// For one position with logits z (V numbers) and the true next token y:
//
//     loss = -log softmax(z)_y = log Σ_v e^{z_v} - z_y
//
// the negative log-probability the model gave to what actually came next. The training loss is
// its mean over every predicted position of the batch. (e^loss is the perplexity: a model that
// spreads its bets evenly over k tokens has perplexity k.)
//
// Its gradient is the one-line result that makes training a classifier cheap:
//
//     ∂loss/∂z_v = softmax(z)_v - [v == y]            (divided by the number of positions)
//
// "the probabilities, minus 1 at the right answer": push up the true token, push down every other
// token in proportion to how much probability it took.
#pragma once

#include <cstdint>
#include <span>

#include "common/tensors/tensor.hpp"

namespace llama4 {

// logits: [N, V], targets: N ids. Returns the mean loss over the N positions; when dlogits is
// given ([N, V], may be `logits` itself) it receives the gradient of that mean. A target outside
// [0, V) is an Error naming it and its row.
//
// counted (chapter 13), when given: N flags, and only the rows flagged 1 count. The loss is the
// mean over those rows, and every other row's gradient is exactly 0: the model is not taught to
// predict them (a user's words, in fine-tuning). No row counted: loss 0, gradient 0.
double cross_entropy(const Tensor& logits, std::span<const std::int32_t> targets,
                     Tensor* dlogits = nullptr, std::span<const std::uint8_t> counted = {});

}  // namespace llama4
