#include "common/finetuning/answer_loop.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace llama4 {

namespace {

// The words of `text`, split at whitespace; each a view into `text`.
std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> split;
  std::size_t start = 0;
  while (true) {
    start = text.find_first_not_of(" \t\n\r", start);
    if (start == std::string_view::npos) break;
    const std::size_t end = std::min(text.find_first_of(" \t\n\r", start), text.size());
    split.push_back(text.substr(start, end - start));
    start = end;
  }
  return split;
}

// Where the repeated window starts among `split`'s words, or `split.size()` when there is none.
std::size_t repeated_window(const std::vector<std::string_view>& split, std::size_t words) {
  if (words == 0 || split.size() < words + 2) return split.size();
  const auto window_end = split.end() - 1;  // the last word may be unfinished
  const auto window = window_end - static_cast<std::ptrdiff_t>(words);
  // Search all but the window's last word, so that the window cannot find itself.
  const auto searched_end = window_end - 1;
  const bool found = std::search(split.begin(), searched_end, window, window_end) != searched_end;
  return found ? static_cast<std::size_t>(window - split.begin()) : split.size();
}

}  // namespace

bool ends_in_a_loop(std::string_view text, std::size_t words) {
  const std::vector<std::string_view> split = split_words(text);
  return repeated_window(split, words) < split.size();
}

std::string_view before_the_loop(std::string_view text, std::size_t words) {
  const std::vector<std::string_view> split = split_words(text);
  const std::size_t window = repeated_window(split, words);
  if (window == split.size()) return text;
  std::string_view kept =
      text.substr(0, static_cast<std::size_t>(split[window].data() - text.data()));
  while (!kept.empty() && std::string_view(" \t\n\r").find(kept.back()) != std::string_view::npos)
    kept.remove_suffix(1);
  return kept;
}

}  // namespace llama4
