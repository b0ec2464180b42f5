// JSON that comes from outside: safetensors headers, config.json, the shard index, tokenizer.json,
// the id lists of chapter 02's program. Three rules on top of the JSON grammar:
//
// 1. Nesting is bounded (kMaxJsonDepth). nlohmann::json parses without recursion, but copying,
//    comparing and printing a value recurse once per level, so a 200,000-deep `[[[[...` in a
//    config field would overflow the stack the first time an error message printed it. No file we
//    read nests deeper than 5.
// 2. A key given twice in one object is an error naming the key. JSON allows it and every parser
//    then quietly keeps one of the values (nlohmann: the last), so such a file means one thing to
//    us and perhaps another to the tool that wrote it: `"dtype": "F32", ..., "dtype": "BF16"`.
// 3. Integers are read exactly or not at all (json_integer): nlohmann stores 2^63..2^64-1 as
//    unsigned, and reading those as int64 would turn them negative.
//
// Every error is a llama4::Error naming `source` (the file).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace llama4 {

inline constexpr int kMaxJsonDepth = 64;

// Parses `text`; `source` names it in errors ("model/config.json", "x.safetensors: the header").
nlohmann::json parse_json_document(std::string_view text, std::string_view source);

// A value for an error message: its JSON text, at most `limit` characters (then "...").
std::string json_excerpt(const nlohmann::json& value, std::size_t limit = 60);

// The value as an int64 if it is a JSON integer that fits (not a float, not 2^63 or more).
std::optional<std::int64_t> json_integer(const nlohmann::json& value);

}  // namespace llama4
