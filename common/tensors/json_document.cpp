#include "common/tensors/json_document.hpp"

#include <unordered_set>
#include <vector>

#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

using Json = nlohmann::json;

// What the parser callback knows about one object or array that is still open.
struct OpenValue {
  bool is_object = false;
  std::string name;  // where it sits: "model.vocab", "weight_map", "pre_tokenizer[]"
  std::unordered_set<std::string> keys;  // objects: the keys seen so far
  std::string last_key;
};

// The name of a value opened inside `parent`: "model" + "vocab" -> "model.vocab", an array's
// element -> "merges[]"; cut at 60 characters, as a 64-level path of "[]" says nothing more.
std::string name_inside(const OpenValue& parent) {
  if (parent.name.size() >= 60)
    return parent.name.ends_with("...") ? parent.name : parent.name + "...";
  if (!parent.is_object) return parent.name + "[]";
  return parent.name.empty() ? parent.last_key : parent.name + "." + parent.last_key;
}

std::string place(const std::vector<OpenValue>& open) {
  return open.empty() || open.back().name.empty() ? "at the top level"
                                                  : "in \"" + open.back().name + "\"";
}

}  // namespace

Json parse_json_document(std::string_view text, std::string_view source) {
  // nlohmann calls this for every event of the parse, with `depth` = the number of enclosing
  // objects and arrays. It sees each key before the value it names, so the checks happen before
  // any deep or duplicated value is built.
  std::vector<OpenValue> open;
  const Json::parser_callback_t check = [&](int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start: {
        if (depth >= kMaxJsonDepth) {
          fail(source, ": values nest more than ", kMaxJsonDepth, " levels deep ", place(open));
        }
        OpenValue value;
        value.is_object = event == Json::parse_event_t::object_start;
        if (!open.empty()) value.name = name_inside(open.back());
        open.push_back(std::move(value));
        break;
      }
      case Json::parse_event_t::key: {
        OpenValue& object = open.back();
        object.last_key = parsed.get<std::string>();
        if (!object.keys.insert(object.last_key).second) {
          fail(source, ": key \"", object.last_key, "\" is given twice ", place(open),
               "; which one is meant?");
        }
        break;
      }
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        open.pop_back();
        break;
      case Json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), check);
  } catch (const Json::exception& error) {
    fail(source, " is not valid JSON (", error.what(), ")");
  }
}

std::string json_excerpt(const Json& value, std::size_t limit) {
  // Depth is bounded by parse_json_document, so dump() cannot recurse too far; `replace` keeps a
  // string with broken UTF-8 (impossible after parsing, possible in a value built in code)
  // printable.
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > limit) text = text.substr(0, limit) + "...";
  return text;
}

std::optional<std::int64_t> json_integer(const Json& value) {
  if (value.is_number_unsigned()) {
    const auto number = value.get<std::uint64_t>();
    if (number > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(number);
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  return std::nullopt;
}

}  // namespace llama4
