// Packing: many short conversations in one training sequence, none seeing another.
//
// A training step reads B sequences of T + 1 tokens. Conversations are short and of every length
// (a book name: 40 tokens; a rewritten verse: 120), so one conversation per sequence padded to
// T + 1 would spend most of each step on padding. Packing places them one after another:
//
//   slot:     0 ........ 57 58 ......... 170 171 ...... T
//   tokens:   [conversation A][conversation B][C ...][pad]
//   position: 0 ........ 57  0 ......... 112  0 ...
//
// and restarts the position at each conversation, so that every conversation is computed exactly
// as if it were alone (RoPE, chunks and the NoPE temperature count from its own start, and
// attention never looks back past it: attention_backward.hpp). The input at a conversation's
// last slot would predict the NEXT conversation's first token: that target is not trained, nor
// are the padding's.
//
// Conversations are placed in the order given (the caller shuffles), each into the current
// sequence if it fits, else into a new one.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/finetuning/supervised_example.hpp"
#include "common/training/trainable_model.hpp"

namespace llama4 {

struct PackedSequences {
  std::int64_t tokens = 0;              // T: inputs per sequence
  std::vector<std::int32_t> ids;        // [R, T + 1]
  std::vector<std::int32_t> positions;  // [R, T]  each input's position in its conversation
  std::vector<std::uint8_t> loss_mask;  // [R, T]  1 where the target is trained
  std::int64_t sequences() const {
    return tokens == 0 ? 0 : static_cast<std::int64_t>(positions.size()) / tokens;
  }
  std::int64_t trained_targets() const;  // how many 1s in loss_mask

  // Sequences [first, first + count) as a batch (views into this object).
  TrainingBatch batch(std::int64_t first, std::int64_t count) const;
};

// An example longer than T + 1 tokens is an Error naming its file and line.
PackedSequences pack_examples(std::span<const SupervisedExample> examples, std::int64_t tokens,
                              std::int32_t pad_id);

}  // namespace llama4
