// Comparing our activations with the golden reference.
//
// golden/generate.py runs our PyTorch reference (golden/reference.py, HF Llama4ForCausalLM
// semantics, computed in float32) on the tiny checkpoints and saves every intermediate tensor. A
// stage is correct when every element is within
//
//     |ours - golden| <= absolute + relative * |golden|
//
// Both sides compute in float32 from the same bf16 weights, so the only differences are the order
// in which sums are accumulated; they grow with the depth of the computation, which is why later
// stages get looser tolerances. The table, with the reason for each number, is golden/README.md.
#pragma once

#include <cstdint>
#include <string>

#include "common/tensors/tensor.hpp"

namespace llama4 {

struct Tolerance {
  double absolute = 0.0;
  double relative = 0.0;
};

// The tolerances of golden/README.md, one per kind of comparison. The measured differences of our
// f32 code against the f32 golden data are 10-20 times smaller (golden/README.md has the numbers).
namespace tolerance {
inline constexpr Tolerance kExact{0.0, 0.0};  // gathers, copies and integers: ids, experts
inline constexpr Tolerance kElementwise{
    1e-6, 1e-6};  // one stage of a few flops per element, on golden input
inline constexpr Tolerance kProjection{
    1e-5, 1e-5};  // one stage with sums over a dimension, on golden input
inline constexpr Tolerance kModel{2e-5, 2e-5};  // any stage of a whole forward pass from token ids
}  // namespace tolerance

struct Comparison {
  bool within_tolerance = true;
  double max_abs_error = 0.0;  // largest |ours - golden|
  std::int64_t worst_index =
      0;  // flat position of the element furthest outside (or nearest to) the bound
  float ours_at_worst = 0.0f;
  float golden_at_worst = 0.0f;
  std::int64_t elements_outside = 0;
  std::string problem;  // non-empty when the shapes differ or a value is NaN
};

// A tolerance must be two finite numbers >= 0: with a NaN bound no difference would ever count as
// one, and every pair of files would "agree". An Error otherwise.
void check_tolerance(const Tolerance& tolerance);

// Compares element by element (any float dtypes, any strides). Shapes must be equal. The tolerance
// is checked with check_tolerance.
Comparison compare(const Tensor& ours, const Tensor& golden, Tolerance tolerance);

// One line for humans:
//   "max |Δ| 2.4e-07, within 1e-05 + 1e-05·|golden| ✓"
//   "3 of 1536 elements outside 1e-05 + 1e-05·|golden|; worst at [7, 12]: ours 0.51, golden 0.49"
std::string summary(const Comparison& comparison, const Tensor& golden, Tolerance tolerance);

}  // namespace llama4
