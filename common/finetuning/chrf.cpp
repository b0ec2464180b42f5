#include "common/finetuning/chrf.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace llama4 {
namespace {

// The code points of `text` without its whitespace. A malformed byte counts as one character.
std::u32string characters_without_spaces(std::string_view text) {
  std::u32string out;
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const std::size_t length = byte < 0x80         ? 1
                               : byte >> 5 == 0x6  ? 2
                               : byte >> 4 == 0xe  ? 3
                               : byte >> 3 == 0x1e ? 4
                                                   : 1;
    char32_t code = length == 1 ? byte : byte & (0x7f >> length);
    for (std::size_t k = 1; k < length && i + k < text.size(); ++k) {
      code = (code << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
    }
    i += length;
    if (code != U' ' && code != U'\t' && code != U'\n' && code != U'\r') out.push_back(code);
  }
  return out;
}

std::map<std::u32string, std::int64_t> ngrams(const std::u32string& text, std::size_t n) {
  std::map<std::u32string, std::int64_t> counts;
  for (std::size_t i = 0; i + n <= text.size(); ++i) ++counts[text.substr(i, n)];
  return counts;
}

}  // namespace

void ChrfScore::add(std::string_view answer, std::string_view reference) {
  const std::u32string a = characters_without_spaces(answer);
  const std::u32string r = characters_without_spaces(reference);
  for (int order = 1; order <= kOrders; ++order) {
    const auto n = static_cast<std::size_t>(order);
    const auto answer_ngrams = ngrams(a, n), reference_ngrams = ngrams(r, n);
    Counts& c = counts_[static_cast<std::size_t>(order - 1)];
    for (const auto& [gram, count] : answer_ngrams) {
      c.answer += count;
      const auto found = reference_ngrams.find(gram);
      if (found != reference_ngrams.end()) c.matches += std::min(count, found->second);
    }
    for (const auto& [gram, count] : reference_ngrams) c.reference += count;
  }
}

double ChrfScore::score() const {
  const double beta2 = kBeta * kBeta;
  double total = 0.0;
  int orders = 0;
  for (const Counts& c : counts_) {
    if (c.answer == 0 || c.reference == 0) continue;
    ++orders;
    const double precision = static_cast<double>(c.matches) / static_cast<double>(c.answer);
    const double recall = static_cast<double>(c.matches) / static_cast<double>(c.reference);
    const double denominator = beta2 * precision + recall;
    if (denominator > 0) total += (1 + beta2) * precision * recall / denominator;
  }
  return orders == 0 ? 0.0 : 100.0 * total / orders;
}

double chrf(std::string_view answer, std::string_view reference) {
  ChrfScore score;
  score.add(answer, reference);
  return score.score();
}

}  // namespace llama4
