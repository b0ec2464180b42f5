// The golden comparison itself: it must pass what is close, and catch what is not (including NaN).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "common/debugging/golden.hpp"

namespace llama4 {
namespace {

TEST(GoldenCompare, AcceptsDifferencesInsideTheBound) {
  const Tensor golden = Tensor::from_values({2, 2}, {1.0f, -2.0f, 100.0f, 0.0f});
  const Tensor ours = Tensor::from_values({2, 2}, {1.000001f, -2.0f, 100.0009f, 0.0000005f});
  const Comparison result = compare(ours, golden, {1e-6, 1e-5});
  EXPECT_TRUE(result.within_tolerance) << summary(result, golden, {1e-6, 1e-5});
  EXPECT_NEAR(result.max_abs_error, 0.0009, 1e-5);
}

TEST(GoldenCompare, ReportsTheWorstElementOutside) {
  const Tensor golden = Tensor::from_values({2, 3}, {0, 0, 0, 0, 0, 0});
  const Tensor ours = Tensor::from_values({2, 3}, {0, 1e-3f, 0, 0, 0.5f, 0});
  const Comparison result = compare(ours, golden, {1e-4, 0});
  EXPECT_FALSE(result.within_tolerance);
  EXPECT_EQ(result.elements_outside, 2);
  EXPECT_EQ(result.worst_index, 4);
  EXPECT_THAT(summary(result, golden, {1e-4, 0}),
              ::testing::HasSubstr("worst at [1, 1]: ours 0.5, golden 0"));
}

TEST(GoldenCompare, NaNIsNeverClose) {
  const Tensor golden = Tensor::from_values({3}, {1, 2, 3});
  const Tensor ours = Tensor::from_values({3}, {1, std::nanf(""), 3});
  const Comparison result = compare(ours, golden, {1e9, 1e9});
  EXPECT_FALSE(result.within_tolerance);
  EXPECT_THAT(result.problem, ::testing::HasSubstr("NaN at [1]"));
}

TEST(GoldenCompare, ShapeMismatch) {
  const Comparison result = compare(Tensor::zeros({2, 3}), Tensor::zeros({3, 2}), {1, 1});
  EXPECT_FALSE(result.within_tolerance);
  EXPECT_THAT(result.problem, ::testing::HasSubstr("shape [2, 3] differs from golden [3, 2]"));
}

TEST(GoldenCompare, ComparesAcrossDtypesAndStrides) {
  const Tensor golden = Tensor::from_values({2, 2}, {1, 2, 3, 4});
  const Tensor transposed_copy = Tensor::from_values({2, 2}, {1, 3, 2, 4}).transpose(0, 1);
  EXPECT_TRUE(compare(transposed_copy.to(DType::BF16), golden, tolerance::kExact).within_tolerance);
}

}  // namespace
}  // namespace llama4
