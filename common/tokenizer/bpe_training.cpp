#include "common/tokenizer/bpe_training.hpp"

#include <algorithm>
#include <queue>
#include <unordered_map>

#include "common/tensors/error.hpp"
#include "common/tokenizer/long_run_splitter.hpp"
#include "common/tokenizer/pretokenizer.hpp"
#include "common/tokenizer/utf8.hpp"

namespace llama4 {
namespace {

// A distinct piece of the text as training sees it: its tokens so far and how often it occurs.
struct Word {
  std::vector<std::int32_t> tokens;  // [parts]; starts as the piece's bytes (token id = byte)
  std::int64_t count = 0;
};

// Two neighbouring tokens, packed into one key: left in the high 32 bits.
using Pair = std::uint64_t;
Pair make_pair_key(std::int32_t left, std::int32_t right) {
  return static_cast<Pair>(static_cast<std::uint32_t>(left)) << 32 |
         static_cast<std::uint32_t>(right);
}
std::int32_t left_of(Pair pair) {
  return static_cast<std::int32_t>(pair >> 32);
}
std::int32_t right_of(Pair pair) {
  return static_cast<std::int32_t>(pair & 0xFFFFFFFFu);
}

// The tie rule: more occurrences first, then the lower left id, then the lower right id. The
// packed key orders by (left, right), so "a better than b" is one comparison each way.
bool better(std::int64_t count_a, Pair a, std::int64_t count_b, Pair b) {
  return count_a != count_b ? count_a > count_b : a < b;
}

void check_arguments(std::string_view text, std::int32_t ranks) {
  if (ranks < 256 || ranks > kMaxTrainedRanks) {
    fail("BPE training: ranks must be between 256 (the single bytes) and ", kMaxTrainedRanks,
         ", got ", ranks);
  }
  if (text.empty()) fail("BPE training: the text is empty");
  if (const std::optional<std::size_t> offset = find_invalid_utf8(text)) {
    fail("BPE training: the text is not valid UTF-8 at byte offset ", *offset, " of ", text.size());
  }
}

// The vocabulary being learned: the bytes of every token, and the id of every byte string (so a
// merge that makes an existing byte string can be recognised).
class GrowingVocabulary {
 public:
  GrowingVocabulary() {
    for (int byte = 0; byte < 256; ++byte) add(std::string(1, static_cast<char>(byte)));
  }
  std::int32_t size() const { return static_cast<std::int32_t>(tokens_.size()); }
  const std::string& bytes(std::int32_t id) const { return tokens_[static_cast<std::size_t>(id)]; }

  // The token for left + right: an existing one with these bytes, or a new rank.
  BpeMerge merge(Pair pair, std::int64_t count) {
    BpeMerge merge;
    merge.left = left_of(pair);
    merge.right = right_of(pair);
    merge.bytes = bytes(merge.left) + bytes(merge.right);
    const auto existing = ids_.find(merge.bytes);
    merge.new_rank = existing == ids_.end();
    merge.token = merge.new_rank ? add(merge.bytes) : existing->second;
    merge.count = count;
    merge.ranks = size();
    return merge;
  }

  TokenVocabulary finish() const { return TokenVocabulary(tokens_, "BPE training"); }

 private:
  std::int32_t add(const std::string& bytes) {
    ids_.emplace(bytes, size());
    tokens_.push_back(bytes);
    return size() - 1;
  }
  std::vector<std::string> tokens_;  // [ranks]
  std::unordered_map<std::string, std::int32_t> ids_;
};

std::vector<Word> initial_words(std::string_view text) {
  std::vector<Word> words;
  for (const auto& [piece, count] : count_pieces(text)) {
    Word word;
    word.count = count;
    word.tokens.reserve(piece.size());
    for (const char byte : piece) word.tokens.push_back(static_cast<unsigned char>(byte));
    words.push_back(std::move(word));
  }
  return words;
}

// Replaces every occurrence of the pair in the word by `token`, left to right ("a a a" with the
// pair a+a becomes "aa a"). Returns whether anything changed.
bool merge_in_word(Word& word, std::int32_t left, std::int32_t right, std::int32_t token) {
  std::vector<std::int32_t>& tokens = word.tokens;
  std::size_t kept = 0;
  bool changed = false;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i + 1 < tokens.size() && tokens[i] == left && tokens[i + 1] == right) {
      tokens[kept++] = token;
      ++i;
      changed = true;
    } else {
      tokens[kept++] = tokens[i];
    }
  }
  tokens.resize(kept);
  return changed;
}

[[noreturn]] void out_of_pairs(std::int32_t ranks, std::int32_t reached) {
  fail("BPE training: the text allows only ", reached, " ranks (every piece is a single token by ",
       "then); asked for ", ranks);
}

void report(const BpeProgress& progress, const BpeMerge& merge) {
  if (progress) progress(merge);
}

// ---------------------------------------------------------------------------------------------
// The incremental trainer's bookkeeping.

struct Candidate {
  std::int64_t count;
  Pair pair;
  // std::priority_queue puts the largest on top: "less" is "worse".
  bool operator<(const Candidate& other) const {
    return better(other.count, other.pair, count, pair);
  }
};

class PairCounts {
 public:
  explicit PairCounts(const std::vector<Word>& words) {
    for (std::size_t index = 0; index < words.size(); ++index) {
      add_word(words[index], static_cast<std::int32_t>(index), +1);
    }
    push_touched();
  }

  // The most frequent pair (by the tie rule) and its count; count 0 when no pair is left.
  Candidate best() {
    while (!queue_.empty()) {
      const Candidate top = queue_.top();
      const auto found = counts_.find(top.pair);
      if (found != counts_.end() && found->second == top.count) return top;
      queue_.pop();  // stale: the count has changed since this entry was pushed
    }
    return {0, 0};
  }

  // Merges the pair in every word that holds it, keeping the counts right: each such word's pairs
  // are taken out before the merge and put back after. Returns how many words changed.
  std::size_t merge(std::vector<Word>& words, Pair pair, std::int32_t token) {
    std::vector<std::int32_t> holders = std::move(words_with_pair_[pair]);
    words_with_pair_.erase(pair);
    std::sort(holders.begin(), holders.end());
    holders.erase(std::unique(holders.begin(), holders.end()), holders.end());
    std::size_t changed = 0;
    for (const std::int32_t index : holders) {
      Word& word = words[static_cast<std::size_t>(index)];
      add_word(word, -1, -1);
      changed += merge_in_word(word, left_of(pair), right_of(pair), token);
      add_word(word, index, +1);
    }
    push_touched();
    return changed;
  }

 private:
  // Adds (sign +1) or removes (-1) the word's pairs. When adding with an index, the word is
  // listed under each of its pairs (lists may hold stale or repeated entries; merge() skips them).
  void add_word(const Word& word, std::int32_t index, int sign) {
    for (std::size_t i = 0; i + 1 < word.tokens.size(); ++i) {
      const Pair pair = make_pair_key(word.tokens[i], word.tokens[i + 1]);
      std::int64_t& count = counts_[pair];
      count += sign * word.count;
      touched_.push_back(pair);
      if (index >= 0) words_with_pair_[pair].push_back(index);
    }
  }

  void push_touched() {
    std::sort(touched_.begin(), touched_.end());
    touched_.erase(std::unique(touched_.begin(), touched_.end()), touched_.end());
    for (const Pair pair : touched_) {
      const auto found = counts_.find(pair);
      if (found->second > 0) {
        queue_.push({found->second, pair});
      } else {
        counts_.erase(found);
      }
    }
    touched_.clear();
  }

  std::unordered_map<Pair, std::int64_t> counts_;  // occurrences of each pair in the text
  std::unordered_map<Pair, std::vector<std::int32_t>> words_with_pair_;  // indices into words
  std::priority_queue<Candidate> queue_;  // every current count, plus stale entries
  std::vector<Pair> touched_;             // pairs whose count changed since the last push
};

}  // namespace

std::vector<std::pair<std::string_view, std::int64_t>> count_pieces(std::string_view text) {
  const Pretokenizer pretokenizer;
  std::vector<std::pair<std::string_view, std::int64_t>> counted;
  std::unordered_map<std::string_view, std::size_t> index_of;  // piece -> index in counted
  std::vector<std::string_view> pieces;
  for (const std::string_view chunk : split_long_runs(text)) {
    pieces.clear();
    pretokenizer.split(chunk, pieces);
    for (const std::string_view piece : pieces) {
      const auto [found, inserted] = index_of.emplace(piece, counted.size());
      if (inserted) counted.emplace_back(piece, 0);
      ++counted[found->second].second;
    }
  }
  return counted;
}

TokenVocabulary train_byte_pair_encoding(std::string_view text, std::int32_t ranks,
                                         const BpeProgress& progress) {
  check_arguments(text, ranks);
  std::vector<Word> words = initial_words(text);
  GrowingVocabulary vocabulary;
  PairCounts pairs(words);
  while (vocabulary.size() < ranks) {
    const Candidate best = pairs.best();
    if (best.count == 0) out_of_pairs(ranks, vocabulary.size());
    const BpeMerge merge = vocabulary.merge(best.pair, best.count);
    // A pair with a count is in some word; if not, the counts are wrong, and going on could loop
    // for ever (a merge that remakes a token adds no rank).
    if (pairs.merge(words, best.pair, merge.token) == 0) {
      fail("BPE training: internal error: the pair of tokens ", merge.left, " and ", merge.right,
           " has count ", merge.count, " but occurs nowhere");
    }
    report(progress, merge);
  }
  return vocabulary.finish();
}

TokenVocabulary train_byte_pair_encoding_by_recounting(std::string_view text, std::int32_t ranks,
                                                       const BpeProgress& progress) {
  check_arguments(text, ranks);
  std::vector<Word> words = initial_words(text);
  GrowingVocabulary vocabulary;
  while (vocabulary.size() < ranks) {
    // 1. Count every pair of neighbouring tokens, weighted by how often its piece occurs.
    std::unordered_map<Pair, std::int64_t> counts;
    for (const Word& word : words) {
      for (std::size_t i = 0; i + 1 < word.tokens.size(); ++i) {
        counts[make_pair_key(word.tokens[i], word.tokens[i + 1])] += word.count;
      }
    }
    if (counts.empty()) out_of_pairs(ranks, vocabulary.size());
    // 2. The most frequent pair, ties broken by the ids.
    Pair best = counts.begin()->first;
    for (const auto& [pair, count] : counts) {
      if (better(count, pair, counts[best], best)) best = pair;
    }
    // 3. It becomes a token, merged everywhere.
    const BpeMerge merge = vocabulary.merge(best, counts[best]);
    for (Word& word : words) merge_in_word(word, merge.left, merge.right, merge.token);
    report(progress, merge);
  }
  return vocabulary.finish();
}

}  // namespace llama4
