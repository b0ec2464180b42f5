#include "common/program/progress_bar.hpp"

#include <cstdio>
#include <string>

namespace llama4 {

void draw_progress(const char* what, std::uint64_t done_bytes, std::uint64_t total_bytes) {
  constexpr int kWidth = 40;
  const double fraction =
      total_bytes > 0 ? static_cast<double>(done_bytes) / static_cast<double>(total_bytes) : 1.0;
  static int last_permille = -1;  // redraw only when the figure shown changes
  const int permille = static_cast<int>(1000 * fraction);
  if (permille == last_permille && done_bytes < total_bytes) return;
  last_permille = done_bytes >= total_bytes ? -1 : permille;
  const int filled = static_cast<int>(fraction * kWidth);
  std::fprintf(stderr, "\r%s [%s%s] %5.1f%% of %.2f GB", what,
               std::string(static_cast<std::size_t>(filled), '#').c_str(),
               std::string(static_cast<std::size_t>(kWidth - filled), '.').c_str(), 100 * fraction,
               static_cast<double>(total_bytes) / 1e9);
  if (done_bytes >= total_bytes) std::fputc('\n', stderr);
}

}  // namespace llama4
