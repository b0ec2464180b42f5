#include "common/tokenizer/byte_level_merges.hpp"

#include <optional>
#include <vector>

#include "common/tensors/error.hpp"
#include "common/tokenizer/byte_level_alphabet.hpp"

namespace llama4 {

std::pair<std::string, std::string> split_merge_text(std::string_view text, std::size_t index,
                                                     std::string_view source) {
  const std::size_t space = text.find(' ');
  if (space == std::string_view::npos || text.find(' ', space + 1) != std::string_view::npos) {
    fail(source, ": merge ", index, " \"", printable(text),
         "\" is not two tokens separated by one space");
  }
  return {std::string(text.substr(0, space)), std::string(text.substr(space + 1))};
}

void check_merges_follow_ids(
    std::size_t count, const std::function<std::pair<std::string, std::string>(std::size_t)>& merge,
    const TokenVocabulary& vocabulary, std::string_view source) {
  std::vector<bool> made(static_cast<std::size_t>(vocabulary.size()), false);
  std::int32_t previous_id = -1;
  for (std::size_t index = 0; index < count; ++index) {
    const auto [left, right] = merge(index);
    std::int32_t ids[3] = {};
    const std::string texts[3] = {left, right, left + right};
    for (int k = 0; k < 3; ++k) {
      const std::optional<std::string> bytes = alphabet_text_to_bytes(texts[k]);
      ids[k] = bytes ? vocabulary.find(*bytes) : TokenVocabulary::kNotFound;
      if (ids[k] == TokenVocabulary::kNotFound) {
        fail(source, ": merge ", index, " (\"", printable(left), "\" + \"", printable(right),
             "\") refers to \"", printable(texts[k]), "\", which is not in the vocab");
      }
    }
    if (ids[2] < previous_id) {
      fail(source, ": merge ", index, " (\"", printable(left), "\" + \"", printable(right),
           "\") makes token ", ids[2], " after a merge that made token ", previous_id,
           "; merges must come in the order of the ids they make, which is how tiktoken ranks ",
           "tokens (this file was not converted from a tiktoken vocabulary)");
    }
    previous_id = ids[2];
    made[static_cast<std::size_t>(ids[2])] = true;
  }
  for (std::int32_t id = 0; id < vocabulary.size(); ++id) {
    if (vocabulary.bytes(id).size() > 1 && !made[static_cast<std::size_t>(id)]) {
      fail(source, ": token ", id, " \"", bytes_to_alphabet_text(vocabulary.bytes(id)),
           "\" is not made by any merge");
    }
  }
}

}  // namespace llama4
