// gemm (common/tensors/gemm.hpp) against the triple loop, at odd sizes, in every orientation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <tuple>
#include <vector>

#include "common/tensors/gemm.hpp"

namespace llama4 {
namespace {

std::vector<float> random_values(std::size_t count, unsigned seed) {
  std::mt19937 generator(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> values(count);
  for (float& v : values) v = uniform(generator);
  return values;
}

using Case = std::tuple<std::int64_t, std::int64_t, std::int64_t, Transpose, Transpose, bool>;

class GemmShapes : public ::testing::TestWithParam<Case> {};

TEST_P(GemmShapes, EqualsTheTripleLoop) {
  const auto [m, n, k, transpose_a, transpose_b, accumulate] = GetParam();
  const std::vector<float> a = random_values(static_cast<std::size_t>(m * k), 1);
  const std::vector<float> b = random_values(static_cast<std::size_t>(k * n), 2);
  std::vector<float> ours = random_values(static_cast<std::size_t>(m * n), 3);
  std::vector<float> expected = ours;
  gemm(a.data(), transpose_a, b.data(), transpose_b, ours.data(), m, n, k, accumulate);
  gemm_reference(a.data(), transpose_a, b.data(), transpose_b, expected.data(), m, n, k,
                 accumulate);
  // Sums of k products of numbers in [-1, 1] in another order: a few ulps of sqrt(k).
  const double bound = 1e-5 * std::sqrt(static_cast<double>(k) + 1.0) * 4.0;
  for (std::size_t i = 0; i < ours.size(); ++i) {
    ASSERT_NEAR(ours[i], expected[i], bound) << "element " << i << " of [" << m << ", " << n << "]";
  }
}

constexpr Transpose N = Transpose::no, T = Transpose::yes;
INSTANTIATE_TEST_SUITE_P(
    OddSizesEveryOrientation, GemmShapes,
    ::testing::Values(Case{1, 1, 1, N, N, false}, Case{7, 33, 5, N, T, false},
                      Case{9, 31, 300, N, N, true}, Case{17, 65, 257, T, N, false},
                      Case{8, 32, 256, T, T, true}, Case{33, 1030, 19, N, T, false},
                      Case{130, 70, 520, T, N, true}, Case{3, 5, 0, N, N, false},
                      Case{3, 5, 0, N, N, true}, Case{64, 96, 64, N, T, false}));

}  // namespace
}  // namespace llama4
