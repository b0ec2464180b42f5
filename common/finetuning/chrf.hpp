// chrF: how close an answer is to a reference, by the character n-grams they share (Popović,
// "chrF: character n-gram F-score for automatic MT evaluation", WMT 2015). Chapter 13 scores its
// modern-English rewrites with it against the World English Bible's wording.
//
// Spaces are removed, then for each n = 1..6 the answer's and the reference's n-grams are counted:
//
//   matches_n = Σ over n-grams g of min(count in answer, count in reference)
//   P_n = matches_n / n-grams of the answer       R_n = matches_n / n-grams of the reference
//   F_n = (1 + β²) · P_n · R_n / (β² · P_n + R_n)      β = 2: recall weighs twice as much
//   chrF = 100 · the mean of F_n over the orders n where both texts have n-grams
//
// Over a corpus the counts of every answer are summed first and the score computed once (as
// sacrebleu's corpus_chrf does), so long verses weigh more than short ones. Characters are Unicode
// code points ("’" is one character, not three bytes).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace llama4 {

class ChrfScore {
 public:
  static constexpr int kOrders = 6;
  static constexpr double kBeta = 2.0;

  // Adds one answer and its reference (UTF-8) to the corpus.
  void add(std::string_view answer, std::string_view reference);
  // chrF of everything added, 0 to 100 (0 when nothing was added).
  double score() const;

 private:
  struct Counts {
    std::int64_t answer = 0, reference = 0, matches = 0;
  };
  std::array<Counts, kOrders> counts_{};
};

// chrF of one answer against one reference.
double chrf(std::string_view answer, std::string_view reference);

}  // namespace llama4
