// Golden gradients for chapter 11's tests, and the comparison they use.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "common/tensors/safetensors.hpp"
#include "common/tensors/tensor.hpp"
#include "common/training/trainable_model.hpp"
#include "tests/support/golden_model.hpp"

namespace llama4::testing {

// golden/data/gradients-<model>.safetensors (golden/generate.py, PyTorch autograd), opened once.
const SafetensorsFile& golden_gradients(const char* model_name);

// The trainable model with the golden checkpoint's weights.
TrainableModel golden_trainable_model(const GoldenModel& golden);

// Gradients span many magnitudes, so they are compared relative to the golden tensor's largest
// element: |ours - golden| <= 2e-5 · max|golden| + 2e-5 · |golden| (measured: at most 2.0e-6 ·
// max|golden|, over every stage and weight of both tiny models). Both sides are f32 autograd
// of the same f32 arithmetic; what differs is the order of sums (see golden/README.md).
::testing::AssertionResult matches_gradient(const Tensor& ours, const Tensor& golden);

// The first `rows` rows of a golden activation (the training case predicts from tokens[0..n-2],
// which are the first n-1 rows of the golden "full" case: attention is causal).
Tensor first_rows(const Tensor& golden, std::int64_t rows);

}  // namespace llama4::testing
