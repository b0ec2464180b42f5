#include "common/finetuning/answer_loop.hpp"

#include <gtest/gtest.h>

namespace llama4 {
namespace {

// The loops chapter 13's evaluation counts: the eight words before the last came before.
TEST(AnswerLoop, AnAnswerRepeatingAStretchOfItselfIsALoop) {
  EXPECT_TRUE(ends_in_a_loop(
      "when it will happen, when it will happen, when it will happen, when it will happen,"));
  EXPECT_TRUE(ends_in_a_loop("a b c d e f g h x a b c d e f g h y"));
  EXPECT_TRUE(ends_in_a_loop("a b  c\td\ne f g h a b c d e f g h i"));  // any whitespace splits
}

// An answer cut off by its token budget ends in half a word: the loop is still found.
TEST(AnswerLoop, AnUnfinishedLastWordDoesNotHideTheLoop) {
  EXPECT_TRUE(
      ends_in_a_loop("and Malcah, and Malcah, and Malcah, and Malcah, and Malcah, and Mal"));
  EXPECT_FALSE(ends_in_a_loop("a b c d e f g h x a b c d e f g h"));  // h may be unfinished
}

TEST(AnswerLoop, RepeatsShorterThanTheWindowAreNotLoops) {
  EXPECT_FALSE(ends_in_a_loop("Holy, holy, holy, is the LORD of hosts: the whole earth is full"));
  EXPECT_FALSE(ends_in_a_loop("a b c d e f g x a b c d e f g h y"));  // seven words came before
  EXPECT_FALSE(ends_in_a_loop("a b c d e f g h y"));                  // nothing before the window
  EXPECT_FALSE(ends_in_a_loop(""));
  EXPECT_TRUE(ends_in_a_loop("a b a b c", 2));
  EXPECT_FALSE(ends_in_a_loop("a b a c d", 2));
}

// What --stop-loops keeps: the answer up to where it started over.
TEST(AnswerLoop, BeforeTheLoopKeepsTheAnswerUpToTheRepeat) {
  EXPECT_EQ(before_the_loop("a b c d e f g h x a b c d e f g h y"), "a b c d e f g h x");
  EXPECT_EQ(before_the_loop("a b a b c", 2), "a b");
  EXPECT_EQ(before_the_loop("no loop here"), "no loop here");
}

}  // namespace
}  // namespace llama4
