#include "common/tokenizer/long_run_splitter.hpp"

#include "common/tokenizer/utf8.hpp"

namespace llama4 {
namespace {

// Meta's _split_whitespaces_or_nonwhitespaces for one window. A cut happens when the current run
// would reach max_run + 1 characters; the counter restarts at 1 for the character after the cut.
void split_window(std::string_view window, std::size_t max_run,
                  std::vector<std::string_view>& pieces) {
  std::size_t run_length = 0;
  bool run_is_space = is_python_whitespace(inspect_utf8(window, 0).code_point);
  std::size_t slice_start = 0;
  std::size_t offset = 0;
  while (offset < window.size()) {
    const Utf8Sequence character = inspect_utf8(window, offset);
    const bool is_space = is_python_whitespace(character.code_point);
    if (is_space != run_is_space) {
      run_length = 1;
      run_is_space = is_space;
    } else if (++run_length > max_run) {
      pieces.push_back(window.substr(slice_start, offset - slice_start));
      slice_start = offset;
      run_length = 1;
    }
    offset += character.length;
  }
  pieces.push_back(window.substr(slice_start));
}

// Byte length of the first `characters` code points of text (all of it if it is shorter).
std::size_t bytes_of_characters(std::string_view text, std::size_t characters) {
  std::size_t offset = 0;
  for (std::size_t i = 0; i < characters && offset < text.size(); ++i) {
    offset += inspect_utf8(text, offset).length;
  }
  return offset;
}

}  // namespace

bool is_python_whitespace(char32_t c) {
  if (c <= 0x20) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
  if (c < 0x85) return false;
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

std::vector<std::string_view> split_long_runs(std::string_view text, std::size_t window,
                                              std::size_t max_run) {
  std::vector<std::string_view> pieces;
  // Fewer bytes than max_run means fewer characters too: no window or run can be cut.
  if (text.size() <= max_run && text.size() <= window) {
    if (!text.empty()) pieces.push_back(text);
    return pieces;
  }
  while (!text.empty()) {
    const std::size_t length = bytes_of_characters(text, window);
    split_window(text.substr(0, length), max_run, pieces);
    text.remove_prefix(length);
  }
  return pieces;
}

}  // namespace llama4
