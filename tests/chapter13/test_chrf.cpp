// chrF against values worked out by hand from its definition (common/finetuning/chrf.hpp).
#include <gtest/gtest.h>

#include "common/finetuning/chrf.hpp"

namespace llama4 {
namespace {

TEST(Chrf, IdenticalTextsScore100AndDisjointOnesScore0) {
  EXPECT_DOUBLE_EQ(chrf("In the beginning", "In the beginning"), 100.0);
  EXPECT_DOUBLE_EQ(chrf("In the beginning", "Inthe beginning"), 100.0);  // spaces do not count
  EXPECT_DOUBLE_EQ(chrf("abc", "xyz"), 0.0);
  EXPECT_DOUBLE_EQ(ChrfScore().score(), 0.0);
}

// "ab" against "abc": order 1: 2 of 2 answer unigrams match, 2 of 3 reference ones, so P = 1,
// R = 2/3, F = 5·(2/3) / (4 + 2/3) = 5/7. Order 2: "ab" matches 1 of 1 and 1 of 2: P = 1,
// R = 1/2, F = 2.5 / 4.5 = 5/9. Order 3: the answer has none, so orders 3..6 are left out.
TEST(Chrf, WeighsRecallTwiceAsMuchAsPrecision) {
  EXPECT_NEAR(chrf("ab", "abc"), 100.0 * (5.0 / 7.0 + 5.0 / 9.0) / 2.0, 1e-9);
  // A code point is one character: "’" against "'" shares nothing.
  EXPECT_DOUBLE_EQ(chrf("\xE2\x80\x99", "'"), 0.0);
}

}  // namespace
}  // namespace llama4
