// Byte-pair encoding by rank: how one pre-token piece becomes token ids (tiktoken's algorithm).
//
// Start from the piece's bytes, one part per byte. Look at every pair of neighbouring parts; if
// their concatenation is a token, its rank says how early BPE training learned it. Merge the pair
// with the lowest rank (the leftmost one if the same token could be made in two places), and
// repeat until no neighbouring pair forms a token. The parts left are the tokens.
//
//   " lower" (6 bytes):  ' ' 'l' 'o' 'w' 'e' 'r'
//     "er"    rank 258   ' ' 'l' 'o' 'w' "er"
//     " l"    rank 305   " l" 'o' 'w' "er"        (ranks from Llama 4's file, for illustration)
//     "ow"    ...        and so on, until " lower" or no pair is a token
//
// Two details decide agreement with tiktoken to the last id:
//   - a piece that is itself a token is that token, without merging (checked by the caller);
//   - merging looks at the bytes of the concatenation, not at a list of allowed pairs, so any two
//     parts whose bytes form a token can merge (an HF merges list is a consequence of this).
//
// Each step scans all pairs, so a piece of n bytes costs O(n^2). Pieces are short (a word), but
// Meta allows runs up to 25,000 characters, so long pieces use a heap instead: the same merges in
// the same order, in O(n log n).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/tokenizer/token_vocabulary.hpp"

namespace llama4 {

// Appends the ids of one piece (not empty) to `ids`.
void byte_pair_encode(const TokenVocabulary& vocabulary, std::string_view piece,
                      std::vector<std::int32_t>& ids);

// One merge, for the learner's view of the algorithm.
struct MergeStep {
  std::string left;
  std::string right;
  std::int32_t rank = 0;  // the id of left + right
};

// The merges byte_pair_encode performs on a piece, in order (the O(n^2) algorithm, spelled out).
std::vector<MergeStep> byte_pair_merge_steps(const TokenVocabulary& vocabulary,
                                             std::string_view piece);

// The quadratic and the heap versions, exposed so tests can check they agree. Both return the
// token ids of the parts left after merging; neither looks up the whole piece first.
std::vector<std::int32_t> byte_pair_merge_by_scanning(const TokenVocabulary& vocabulary,
                                                      std::string_view piece);
std::vector<std::int32_t> byte_pair_merge_with_heap(const TokenVocabulary& vocabulary,
                                                    std::string_view piece);

}  // namespace llama4
