// Tensor: shapes, strides, views, conversions and the errors for misuse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "common/tensors/error.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {
namespace {

using ::testing::HasSubstr;

// [2, 3] holding 0 1 2 / 3 4 5
Tensor two_by_three() {
  return Tensor::from_values({2, 3}, {0, 1, 2, 3, 4, 5});
}

TEST(Tensor, ZerosIsContiguousRowMajor) {
  const Tensor t = Tensor::zeros({24, 4, 16});
  EXPECT_EQ(t.shape(), (Shape{24, 4, 16}));
  EXPECT_EQ(t.strides(), (Shape{64, 16, 1}));
  EXPECT_EQ(t.numel(), 24 * 4 * 16);
  EXPECT_EQ(t.nbytes(), 24u * 4 * 16 * 4);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.dim(-1), 16);
  EXPECT_EQ(t.at({23, 3, 15}), 0.0f);
  EXPECT_EQ(Tensor::zeros({8}, DType::BF16).nbytes(), 16u);
}

TEST(Tensor, OwnedMemoryIsAligned) {
  const Tensor t = Tensor::zeros({3}, DType::BF16);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.raw_data()) % 64, 0u);
}

TEST(Tensor, SetAndAtFollowTheStrides) {
  Tensor t = Tensor::zeros({2, 3});
  t.set({1, 2}, 7.5f);
  EXPECT_EQ(t.data<float>()[1 * 3 + 2], 7.5f);
  EXPECT_EQ(t.at({1, 2}), 7.5f);
}

TEST(Tensor, SelectGivesARowWithoutCopying) {
  Tensor t = two_by_three();
  const Tensor row = t.select(1);
  EXPECT_EQ(row.shape(), (Shape{3}));
  EXPECT_EQ(row.at({0}), 3.0f);
  t.set({1, 0}, 30.0f);  // the view sees changes to the original memory
  EXPECT_EQ(row.at({0}), 30.0f);
}

TEST(Tensor, TransposeSwapsStridesNotData) {
  const Tensor t = two_by_three();
  const Tensor tt = t.transpose(0, 1);
  EXPECT_EQ(tt.shape(), (Shape{3, 2}));
  EXPECT_EQ(tt.strides(), (Shape{1, 3}));
  EXPECT_FALSE(tt.is_contiguous());
  EXPECT_EQ(tt.raw_data(), t.raw_data());
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(tt.at({c, r}), t.at({r, c}));
  // A contiguous copy puts the elements in the new row-major order.
  const Tensor copy = tt.clone();
  EXPECT_TRUE(copy.is_contiguous());
  EXPECT_EQ(std::vector<float>(copy.data<float>(), copy.data<float>() + 6),
            (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(Tensor, SliceMovesTheStart) {
  const Tensor t = Tensor::from_values({4, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
  const Tensor middle = t.slice(0, 1, 3);
  EXPECT_EQ(middle.shape(), (Shape{2, 2}));
  EXPECT_EQ(middle.at({0, 0}), 2.0f);
  EXPECT_EQ(middle.at({1, 1}), 5.0f);
  const Tensor column = t.slice(1, 1, 2);
  EXPECT_EQ(column.shape(), (Shape{4, 1}));
  EXPECT_EQ(column.at({3, 0}), 7.0f);
  EXPECT_FALSE(column.is_contiguous());
}

TEST(Tensor, ReshapeNeedsContiguousMemory) {
  const Tensor t = two_by_three();
  const Tensor flat = t.reshape({6});
  EXPECT_EQ(flat.at({4}), 4.0f);
  EXPECT_THAT([&] { t.reshape({4}); },
              ::testing::ThrowsMessage<Error>(HasSubstr("cannot reshape [2, 3]")));
  EXPECT_THAT([&] { t.transpose(0, 1).reshape({6}); },
              ::testing::ThrowsMessage<Error>(HasSubstr("non-contiguous")));
}

TEST(Tensor, ConvertsBetweenFloatTypes) {
  const Tensor t = Tensor::from_values({3}, {1.0f, 1.0f + 0x1p-8f, -3.140625f});
  const Tensor half = t.to(DType::BF16);
  EXPECT_EQ(half.dtype(), DType::BF16);
  EXPECT_EQ(half.data<bfloat16>()[1].bits, 0x3f80);  // tie rounded to even
  const Tensor back = half.to(DType::F32);
  EXPECT_EQ(back.at({2}), -3.140625f);
  EXPECT_EQ(back.at({1}), 1.0f);
}

TEST(Tensor, ReadOnlyViewsRefuseWrites) {
  auto owner = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4});
  const float* data = owner->data();
  Tensor view = Tensor::view(data, {2, 2}, DType::F32, owner);
  EXPECT_FALSE(view.is_writable());
  EXPECT_EQ(view.at({1, 0}), 3.0f);
  EXPECT_THAT(
      [&] {
        view.set({0, 0}, 5.0f);
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("read-only view")));
  EXPECT_THAT([&] { view.mutable_data<float>(); },
              ::testing::ThrowsMessage<Error>(HasSubstr("read-only")));
  Tensor copy = view.clone();
  copy.set({0, 0}, 5.0f);
  EXPECT_EQ(copy.at({0, 0}), 5.0f);
  EXPECT_EQ(view.at({0, 0}), 1.0f);
}

TEST(Tensor, ViewKeepsItsOwnerAlive) {
  Tensor view;
  {
    auto owner = std::make_shared<std::vector<float>>(std::vector<float>{9, 8});
    view = Tensor::view(static_cast<const void*>(owner->data()), {2}, DType::F32, owner);
  }
  EXPECT_EQ(view.at({1}), 8.0f);  // ASan would flag a use-after-free here
}

TEST(Tensor, WrongDtypeOrIndexIsAnError) {
  const Tensor t = two_by_three();
  EXPECT_THAT([&] { t.data<bfloat16>(); },
              ::testing::ThrowsMessage<Error>(HasSubstr("holds F32, not BF16")));
  EXPECT_THAT([&] { t.at({2, 0}); }, ::testing::ThrowsMessage<Error>(HasSubstr("out of range")));
  EXPECT_THAT([&] { t.at({0}); }, ::testing::ThrowsMessage<Error>(HasSubstr("rank 2")));
  EXPECT_THAT([&] { t.select(5); }, ::testing::ThrowsMessage<Error>(HasSubstr("out of range")));
  EXPECT_THAT([&] { t.dim(2); }, ::testing::ThrowsMessage<Error>(HasSubstr("does not exist")));
  EXPECT_THAT(
      [&] {
        Tensor::zeros({2, -1});
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("negative")));
  EXPECT_THAT([&] { Tensor().data<float>(); }, ::testing::ThrowsMessage<Error>(HasSubstr("empty")));
}

TEST(Tensor, DescribeShowsShapeAndFirstValues) {
  const Tensor t = Tensor::from_values({2, 4}, {0.5f, -1.25f, 2, 3, 4, 5, 6, 7});
  EXPECT_EQ(describe(t, "x", 3), "x  F32 [2, 4]  [0.5, -1.25, 2, ...]");
  EXPECT_EQ(describe(Tensor()), "(empty)");
}

TEST(Tensor, ExpectShapeNamesTheTensor) {
  const Tensor t = Tensor::zeros({2, 3});
  expect_shape(t, {2, 3}, "q");
  EXPECT_THAT(
      [&] {
        expect_shape(t, {3, 2}, "layer 0 q");
      },
      ::testing::ThrowsMessage<Error>(HasSubstr("layer 0 q has shape [2, 3], expected [3, 2]")));
}

}  // namespace
}  // namespace llama4
