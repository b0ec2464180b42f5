// Training a byte-level BPE: where the ranks in a tokenizer.model come from (chapter 11).
//
// Chapter 02 read Meta's 200,000 ranks and used them. Here we learn our own, from a text, so that
// a small model trained on that text gets a vocabulary that fits it.
//
// The idea. Start with the 256 single bytes as tokens 0..255 (in byte order), so any text can be
// written, one token per byte. Cut the text into pieces exactly as the tokenizer will (Meta's
// long-run cuts, then the o200k pattern: " lower", "," "\n"); BPE never merges across a piece
// boundary, so neither does training. Then repeat:
//
//   1. count every pair of neighbouring tokens in every piece ("e"+"r": 51,203 times);
//   2. take the most frequent pair and make it a new token with the next rank ("er" = 256);
//   3. merge every occurrence of that pair, left to right, in every piece;
//
// until the vocabulary has `ranks` tokens. A hand-worked run, on the words hug x10, pug x5,
// pun x12, bun x4 and hugs x5 (one per line, so each line is a piece):
//
//   pairs at the start: u+g 20, p+u 17, u+n 16, h+u 15, g+s 5, b+u 4
//   rank 256 = "ug"   (20)   h ug | p ug | p u n | b u n | h ug s
//   rank 257 = "un"   (16)   h ug | p ug | p un  | b un  | h ug s
//   rank 258 = "hug"  (15)   hug  | p ug | p un  | b un  | hug s
//   rank 259 = "pun"  (12)   hug  | p ug | pun   | b un  | hug s
//   rank 260 = "pug"  (5)    a tie with "hug"+"s" (5): see below
//   rank 261 = "hugs" (5), rank 262 = "bun" (4); then every piece is one token and training stops.
//
// Why the most frequent pair. Merging a pair that occurs n times shortens the training text by n
// tokens. Each new token costs the model one row of its embedding table, so BPE spends each row
// where it saves the most: a greedy compression of this text. Fewer tokens per text means more
// text fits in the model's context, and each step predicts more than one byte.
//
// Ties are broken by the ids of the pair: the pair whose left token is older (lower id) wins, then
// the one whose right token is. At rank 260 above "p"+"ug" (ids 112, 256) beats "hug"+"s" (258,
// 115). Any fixed rule would do; it must be fixed so that training is reproducible.
//
// Why a token's rank is the order it was learned in. A merge was chosen by counting pairs in the
// text as the earlier merges had left it, so to cut a new text the same way the merges must be
// replayed in the same order. tiktoken's file therefore needs no list of merges: the rank is the
// order.
//
// Why tiktoken's encoder reproduces the merges (common/tokenizer/byte_pair_encoding.hpp). It
// looks at the neighbouring parts of a piece and merges the pair whose bytes form the token of the
// lowest rank: the earliest learned of the merges that can apply, which is exactly the one training
// applied first. It looks at the bytes of the pair, not at which two tokens they came from; that
// is the same thing because in this training a byte string can only ever be made one way. (The
// part of a piece that becomes one token evolves, until it is merged, exactly as if it were a piece
// of its own: no merge crosses its edges, and the left-to-right rule sees nothing outside them. Two
// occurrences of the same bytes therefore go through the same merges and end in the same pair.)
// If a merge ever did produce the bytes of an existing token, train_byte_pair_encoding would use
// that token and add no rank (a tiktoken file cannot hold the same bytes twice); BpeMerge says
// when, and the tests check that it does not happen.
//
// Ids. The trained file holds only these ranks. Like Meta's, it gets Llama 4's 2,048 special tokens
// after the last rank when loaded (Tokenizer::from_vocabulary): with 4,096 ranks,
// <|begin_of_text|> is id 4,096 and the model's vocabulary has 6,144 ids.
//
// Speed. Recounting every pair after every merge (train_byte_pair_encoding_by_recounting, kept
// for the tests) costs one pass over all distinct pieces per merge. train_byte_pair_encoding keeps
// the counts instead: for each pair, its count and the pieces that contain it; after a merge only
// the pieces that held the pair are recounted, and a heap (with stale entries skipped) finds the
// next most frequent pair. On chapter 11's train split (7.5 MB, 19,687 distinct pieces), 4,096
// ranks take about 0.7 s of CPU this way, half of it cutting the text into pieces; recounting
// takes about 14 s.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/tokenizer/token_vocabulary.hpp"

namespace llama4 {

// The most ranks training will produce: Llama 4's own vocabulary size.
inline constexpr std::int32_t kMaxTrainedRanks = 200'000;

// One merge, reported to the progress callback as it happens.
struct BpeMerge {
  std::int32_t left = 0;  // the two tokens merged
  std::int32_t right = 0;
  std::int32_t token = 0;  // the token they make (a new rank, or an existing one: see new_rank)
  std::string bytes;       // its bytes
  bool new_rank = true;    // false if these bytes were already a token (see the header comment)
  std::int64_t count = 0;  // how often the pair occurred in the text when it was chosen
  std::int32_t ranks = 0;  // the vocabulary's size after this merge
};
using BpeProgress = std::function<void(const BpeMerge&)>;

// The distinct pieces of `text`, split exactly as Tokenizer::encode splits it before merging
// (Meta's long-run cuts, then the o200k pattern), with how often each occurs, in order of first
// occurrence. The views point into `text`.
std::vector<std::pair<std::string_view, std::int64_t>> count_pieces(std::string_view text);

// Learns a vocabulary of exactly `ranks` tokens (256..kMaxTrainedRanks) from `text`. Throws
// llama4::Error if `ranks` is out of range, the text is empty or not valid UTF-8 (naming the byte
// offset), or the text runs out of pairs first (naming how many ranks it allows).
TokenVocabulary train_byte_pair_encoding(std::string_view text, std::int32_t ranks,
                                         const BpeProgress& progress = {});

// The same merges, found the plain way: all pairs recounted after every merge. Slow (one pass
// over every piece per merge); the tests check that both give the same vocabulary.
TokenVocabulary train_byte_pair_encoding_by_recounting(std::string_view text, std::int32_t ranks,
                                                       const BpeProgress& progress = {});

}  // namespace llama4
