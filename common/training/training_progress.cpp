#include "common/training/training_progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace llama4 {

std::string clock_time(double seconds) {
  const auto s = static_cast<long long>(seconds);
  char text[32];
  std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  return text;
}

void show_training_progress(std::int64_t step, std::int64_t steps, double loss,
                            double tokens_per_second, double elapsed, std::int64_t steps_this_run) {
  static const bool terminal = ::isatty(STDOUT_FILENO) != 0;
  const std::int64_t every = std::max<std::int64_t>(1, steps / 100);
  if (!terminal && step % every != 0 && step != steps) return;
  const int width = 24;
  const int filled = static_cast<int>(width * step / steps);
  const double eta = elapsed / static_cast<double>(std::max<std::int64_t>(1, steps_this_run)) *
                     static_cast<double>(steps - step);
  std::printf("%sstep %lld/%lld [%s%s] loss %.3f | %.0f tok/s | elapsed %s | ETA %s%s",
              terminal ? "\r" : "", static_cast<long long>(step), static_cast<long long>(steps),
              std::string(static_cast<std::size_t>(filled), '=').c_str(),
              std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), loss,
              tokens_per_second, clock_time(elapsed).c_str(), clock_time(eta).c_str(),
              terminal ? "   " : "\n");
  std::fflush(stdout);
}

}  // namespace llama4
