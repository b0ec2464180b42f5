// JSON Lines ("JSONL"): one JSON object per line, the layout of chapter 08's multiple-choice
// questions and chapter 13's conversations. Blank lines are skipped; every other line is handed
// on with "FILE:LINE", so that each reader's errors name the line at fault.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace llama4 {

// Calls visit(line, "FILE:LINE") for each non-blank line of `text` (the contents of `path`), in
// order. Returns how many lines it visited.
std::int64_t for_each_json_line(
    const std::string& text, const std::filesystem::path& path,
    const std::function<void(const std::string& line, const std::string& where)>& visit);

}  // namespace llama4
