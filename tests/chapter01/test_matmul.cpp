// linear (y = x·Wᵀ) and matmul (y = x·W) against a naive triple loop, for every weight dtype and
// for sizes that are not multiples of any block size.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>

#include "common/tensors/error.hpp"
#include "common/tensors/matmul.hpp"

namespace llama4 {

// Test parameters print as "F32", not as the bytes of the enum (GoogleTest finds this by the
// type's namespace, so it sits outside the anonymous one).
void PrintTo(DType dtype, std::ostream* out) {
  *out << dtype_name(dtype);
}

namespace {

Tensor random_tensor(const Shape& shape, std::mt19937& generator, DType dtype = DType::F32) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Tensor t = Tensor::zeros(shape, DType::F32);
  float* data = t.mutable_data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) data[i] = normal(generator);
  return dtype == DType::F32 ? t : t.to(dtype);
}

// The definition, in double: y[r][o] = sum_i x[r][i] * W[o][i] (or W[i][o] when input-major).
double naive(const Tensor& x, const Tensor& w, std::int64_t r, std::int64_t o, bool input_major) {
  double sum = 0;
  for (std::int64_t i = 0; i < x.dim(1); ++i) {
    sum += static_cast<double>(x.at({r, i})) * (input_major ? w.at({i, o}) : w.at({o, i}));
  }
  return sum;
}

void expect_matches_naive(const Tensor& x, const Tensor& w, const Tensor& y, bool input_major) {
  for (std::int64_t r = 0; r < y.dim(0); ++r) {
    for (std::int64_t o = 0; o < y.dim(1); ++o) {
      const double want = naive(x, w, r, o, input_major);
      // f32 accumulation of n products of O(1) numbers: error ~ sqrt(n)·eps·|terms|.
      ASSERT_NEAR(y.at({r, o}), want, 1e-5 * (1.0 + std::sqrt(static_cast<double>(x.dim(1))) * 4))
          << "at [" << r << ", " << o << "]";
    }
  }
}

class MatmulSizes : public ::testing::TestWithParam<std::tuple<int, int, int, DType>> {};

TEST_P(MatmulSizes, LinearMatchesNaiveLoop) {
  const auto [rows, in, out, dtype] = GetParam();
  std::mt19937 generator(rows * 1000 + in * 10 + out);
  const Tensor x = random_tensor({rows, in}, generator);
  const Tensor w = random_tensor({out, in}, generator, dtype);
  expect_matches_naive(x, w, linear(x, w), /*input_major=*/false);
}

TEST_P(MatmulSizes, MatmulMatchesNaiveLoop) {
  const auto [rows, in, out, dtype] = GetParam();
  std::mt19937 generator(rows * 1000 + in * 10 + out + 1);
  const Tensor x = random_tensor({rows, in}, generator);
  const Tensor w = random_tensor({in, out}, generator, dtype);
  expect_matches_naive(x, w, matmul(x, w), /*input_major=*/true);
}

INSTANTIATE_TEST_SUITE_P(
    OddSizes, MatmulSizes,
    ::testing::Values(std::make_tuple(1, 1, 1, DType::F32), std::make_tuple(1, 64, 96, DType::BF16),
                      std::make_tuple(3, 5, 7, DType::BF16),
                      std::make_tuple(17, 33, 300, DType::BF16),
                      std::make_tuple(20, 130, 257, DType::F32),
                      std::make_tuple(9, 300, 70, DType::BF16),  // 3 chunks of W's rows
                      std::make_tuple(2, 40, 513, DType::F16),
                      std::make_tuple(33, 64, 31, DType::BF16)),
    [](const ::testing::TestParamInfo<MatmulSizes::ParamType>& case_info) {
      const auto& size = case_info.param;  // no structured binding: its commas break the macro
      return std::to_string(std::get<0>(size)) + "x" + std::to_string(std::get<1>(size)) + "x" +
             std::to_string(std::get<2>(size)) + "_" + std::string(dtype_name(std::get<3>(size)));
    });

TEST(Matmul, LayoutMatters) {
  // For a square weight both functions run; only the right one gives x·Wᵀ.
  std::mt19937 generator(7);
  const Tensor x = random_tensor({2, 8}, generator);
  const Tensor w = random_tensor({8, 8}, generator);
  const Tensor a = linear(x, w);
  const Tensor b = matmul(x, w.transpose(0, 1).clone());
  const Tensor wrong = matmul(x, w);
  double agree = 0, disagree = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    agree = std::max(agree, static_cast<double>(std::fabs(a.flat(i) - b.flat(i))));
    disagree = std::max(disagree, static_cast<double>(std::fabs(a.flat(i) - wrong.flat(i))));
  }
  EXPECT_LT(agree, 1e-5);
  EXPECT_GT(disagree, 1e-2);
}

TEST(Matmul, ShapeMismatchesAreErrors) {
  const Tensor x = Tensor::zeros({2, 8});
  using ::testing::HasSubstr;
  EXPECT_THAT(
      [&] {
        linear(x, Tensor::zeros({4, 7}));
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("does not fit weight [4, 7]")));
  EXPECT_THAT(
      [&] {
        matmul(x, Tensor::zeros({7, 4}));
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("does not fit weight [7, 4]")));
  Tensor y = Tensor::zeros({2, 5});
  EXPECT_THAT(
      [&] {
        linear(x, Tensor::zeros({4, 8}), y);
      },
      ::testing::ThrowsMessage<Error>(
          HasSubstr("linear output has shape [2, 5], expected [2, 4]")));
  EXPECT_THAT(
      [&] {
        linear(x, Tensor::zeros({4, 8}, DType::I32));
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("I32 is not supported")));
}

}  // namespace
}  // namespace llama4
