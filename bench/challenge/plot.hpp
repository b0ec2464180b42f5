// The result as a picture (SVG, written by hand: no plotting library): throughput against batch
// size on the left, the time per output token's p50 / p90 / p99 against batch size on the right.
// Batching trades one for the other; the plot shows how much of each a batch size costs.
#pragma once

#include <string>

#include "bench/challenge/result.hpp"

namespace llama4::challenge {

std::string plot_svg(const ChallengeResult& result);

}  // namespace llama4::challenge
