// A one-line progress bar on standard error for long loads and conversions:
//
//   reading weights [##############..........................]  35.0% of 2.54 GB
//
// Called as often as the work likes; it redraws only when the figure shown changes, and ends the
// line when done reaches total.
#pragma once

#include <cstdint>

namespace llama4 {

void draw_progress(const char* what, std::uint64_t done_bytes, std::uint64_t total_bytes);

}  // namespace llama4
