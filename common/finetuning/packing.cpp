#include "common/finetuning/packing.hpp"

#include <algorithm>

#include "common/tensors/error.hpp"

namespace llama4 {

std::int64_t PackedSequences::trained_targets() const {
  return std::count(loss_mask.begin(), loss_mask.end(), std::uint8_t{1});
}

TrainingBatch PackedSequences::batch(std::int64_t first, std::int64_t count) const {
  if (first < 0 || count <= 0 || first + count > sequences()) {
    fail("packed sequences: no sequences ", first, " to ", first + count - 1, " (there are ",
         sequences(), ")");
  }
  const auto span_of = [&](const auto& vector, std::int64_t width) {
    return std::span(vector).subspan(static_cast<std::size_t>(first * width),
                                     static_cast<std::size_t>(count * width));
  };
  return TrainingBatch{span_of(ids, tokens + 1), count, span_of(positions, tokens),
                       span_of(loss_mask, tokens)};
}

PackedSequences pack_examples(std::span<const SupervisedExample> examples, std::int64_t tokens,
                              std::int32_t pad_id) {
  if (tokens < 1) fail("packing: sequences of ", tokens, " inputs");
  const std::int64_t slots = tokens + 1;  // a sequence holds T + 1 tokens: T inputs, T targets
  PackedSequences packed;
  packed.tokens = tokens;
  std::int64_t used = slots;  // slots filled in the current sequence (none open yet)
  std::int64_t row = -1;

  // Opens sequence `row + 1`, all padding: pad ids, one padding "document" counting 0, 1, 2...,
  // nothing trained. Conversations then overwrite it from the left.
  const auto open_sequence = [&] {
    ++row;
    used = 0;
    packed.ids.insert(packed.ids.end(), static_cast<std::size_t>(slots), pad_id);
    for (std::int64_t i = 0; i < tokens; ++i)
      packed.positions.push_back(static_cast<std::int32_t>(i));
    packed.loss_mask.insert(packed.loss_mask.end(), static_cast<std::size_t>(tokens), 0);
  };

  for (const SupervisedExample& example : examples) {
    const auto n = static_cast<std::int64_t>(example.tokens.size());
    if (n > slots) {
      fail(example.where, ": the conversation is ", n, " tokens, longer than the ", slots,
           " of a training sequence (--sequence ", tokens, " + 1)");
    }
    if (n < 2) continue;  // predicts nothing
    if (used + n > slots) open_sequence();
    const std::int64_t base = row * slots + used;         // in ids
    const std::int64_t input_base = row * tokens + used;  // in positions and loss_mask
    for (std::int64_t k = 0; k < n; ++k) {
      packed.ids[static_cast<std::size_t>(base + k)] = example.tokens[static_cast<std::size_t>(k)];
      if (used + k >= tokens) continue;  // the last slot is a target only
      const auto at = static_cast<std::size_t>(input_base + k);
      packed.positions[at] = static_cast<std::int32_t>(k);
      // Input k predicts token k + 1 of the same conversation; the last one predicts nothing.
      packed.loss_mask[at] = k + 1 < n ? example.trained[static_cast<std::size_t>(k + 1)] : 0;
    }
    used += n;
    // The padding after a conversation is a document of its own, starting at position 0.
    for (std::int64_t i = used; i < tokens; ++i) {
      packed.positions[static_cast<std::size_t>(row * tokens + i)] =
          static_cast<std::int32_t>(i - used);
    }
  }
  if (row < 0) fail("packing: no conversation has two tokens or more");
  return packed;
}

}  // namespace llama4
