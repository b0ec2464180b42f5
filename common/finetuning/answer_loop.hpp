// Has an answer started repeating itself? A greedy model that has learned to copy its prompt can
// copy its own answer too: once a stretch comes round again, the same context predicts the same
// continuation, and greedy decoding never leaves the loop ("when it will happen, when it will
// happen, ..."). Chapter 13's evaluation counts such answers, so that a change that stops them
// shows in a figure rather than in a few examples.
#pragma once

#include <cstddef>
#include <string_view>

namespace llama4 {

// True when the `words` words before the last one (split at whitespace) already occur, in that
// order, earlier in `text`. The last word is left out because it may be unfinished: an answer cut
// off by its token budget, or one still being generated, often ends in half a word.
bool ends_in_a_loop(std::string_view text, std::size_t words = 8);

// `text` without its repeated words and its last word (and the whitespace before them) when it
// ends in a loop; `text` unchanged otherwise. Stopping generation as soon as ends_in_a_loop turns
// true and keeping this leaves the answer as it was before it started over.
std::string_view before_the_loop(std::string_view text, std::size_t words = 8);

}  // namespace llama4
