#include "common/tensors/json_lines.hpp"

#include <sstream>

namespace llama4 {

std::int64_t for_each_json_line(
    const std::string& text, const std::filesystem::path& path,
    const std::function<void(const std::string& line, const std::string& where)>& visit) {
  std::istringstream lines(text);
  std::string line;
  std::int64_t visited = 0;
  for (std::int64_t number = 1; std::getline(lines, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    visit(line, path.string() + ":" + std::to_string(number));
    ++visited;
  }
  return visited;
}

}  // namespace llama4
