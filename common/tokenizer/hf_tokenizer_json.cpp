#include "common/tokenizer/hf_tokenizer_json.hpp"

#include "common/tensors/error.hpp"
#include "common/tensors/json_document.hpp"
#include "common/tensors/mapped_file.hpp"
#include "common/tokenizer/byte_level_alphabet.hpp"
#include "common/tokenizer/byte_level_merges.hpp"
#include "common/tokenizer/pretokenizer.hpp"

namespace llama4 {
namespace {

using Json = nlohmann::json;

const Json& member(const Json& object, const char* key, std::string_view where,
                   std::string_view source) {
  if (!object.is_object() || !object.contains(key)) {
    fail(source, ": ", where, " has no \"", key, "\"");
  }
  return object[key];
}

// True if the pre-tokenizer (possibly a Sequence of them) splits with Llama 4's pattern.
bool splits_with_o200k(const Json& pre_tokenizer) {
  if (!pre_tokenizer.is_object()) return false;
  const auto type = pre_tokenizer.find("type");
  if (type == pre_tokenizer.end() || !type->is_string()) return false;
  if (*type == "Sequence") {
    const auto parts = pre_tokenizer.find("pretokenizers");
    if (parts == pre_tokenizer.end() || !parts->is_array()) return false;
    for (const Json& part : *parts) {
      if (splits_with_o200k(part)) return true;
    }
    return false;
  }
  if (*type != "Split") return false;
  const auto pattern = pre_tokenizer.find("pattern");
  if (pattern == pre_tokenizer.end() || !pattern->is_object()) return false;
  const auto regex = pattern->find("Regex");
  return regex != pattern->end() && regex->is_string() &&
         regex->get_ref<const std::string&>() == kO200kPattern;
}

void check_byte_level_bpe(const Json& model, std::string_view source) {
  const Json& type = member(model, "type", "\"model\"", source);
  if (!type.is_string() || type != "BPE") {
    fail(source, ": \"model\" is of type ", json_excerpt(type),
         "; only byte-level \"BPE\" is supported");
  }
  const auto byte_fallback = model.find("byte_fallback");
  if (byte_fallback != model.end() && byte_fallback->is_boolean() && byte_fallback->get<bool>()) {
    fail(source, ": the BPE model uses byte_fallback, so it is not a byte-level BPE");
  }
  for (const char* affix : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const auto found = model.find(affix);
    if (found != model.end() && !found->is_null() && *found != "") {
      fail(source, ": the BPE model uses a ", affix, ", so it is not a byte-level BPE");
    }
  }
}

// vocab: {"Ġthe": 279, ...} -> token bytes by id; ids must be exactly 0..N-1.
std::vector<std::string> read_vocab(const Json& vocab, std::string_view source) {
  if (!vocab.is_object()) fail(source, ": \"model.vocab\" is not a JSON object");
  if (vocab.empty()) fail(source, ": \"model.vocab\" is empty");
  std::vector<std::string> tokens(vocab.size());
  std::vector<bool> seen(vocab.size(), false);
  for (const auto& [text, id_json] : vocab.items()) {
    const std::optional<std::int64_t> id_value = json_integer(id_json);
    if (!id_value || *id_value < 0 || *id_value >= static_cast<std::int64_t>(vocab.size())) {
      fail(source, ": vocab entry \"", text, "\" has id ", json_excerpt(id_json), "; the ",
           vocab.size(), " ids must be 0..", vocab.size() - 1);
    }
    const auto id = static_cast<std::size_t>(*id_value);
    if (seen[id])
      fail(source, ": vocab id ", id, " is given to two tokens (one is \"", text, "\")");
    seen[id] = true;
    std::optional<std::string> bytes = alphabet_text_to_bytes(text);
    if (!bytes) {
      fail(source, ": vocab entry \"", text, "\" (id ", id,
           ") has a character outside the byte-level alphabet");
    }
    tokens[id] = std::move(*bytes);
  }
  return tokens;
}

// One merge as two alphabet strings: "Ġ t" or ["Ġ", "t"].
std::pair<std::string, std::string> read_merge(const Json& merge, std::size_t index,
                                               std::string_view source) {
  if (merge.is_string())
    return split_merge_text(merge.get_ref<const std::string&>(), index, source);
  if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
    return {merge[0].get<std::string>(), merge[1].get<std::string>()};
  }
  fail(source, ": merge ", index, " is ", json_excerpt(merge), ", not \"a b\" or [\"a\", \"b\"]");
}

std::vector<AddedToken> read_added_tokens(const Json& root, std::string_view source) {
  std::vector<AddedToken> added;
  const auto found = root.find("added_tokens");
  if (found == root.end() || found->is_null()) return added;
  if (!found->is_array()) fail(source, ": \"added_tokens\" is not a JSON array");
  for (const Json& entry : *found) {
    if (!entry.is_object() || !entry.contains("id") || !entry.contains("content") ||
        !entry["id"].is_number_integer() || !entry["content"].is_string()) {
      fail(source, ": added token ", json_excerpt(entry),
           " needs an integer \"id\" and a string \"content\"");
    }
    const std::optional<std::int64_t> id = json_integer(entry["id"]);
    if (!id || *id < 0 || *id > INT32_MAX) {
      fail(source, ": added token id ", json_excerpt(entry["id"]), " is out of range");
    }
    added.push_back({static_cast<std::int32_t>(*id), entry["content"].get<std::string>()});
  }
  return added;
}

}  // namespace

HfTokenizerJson parse_hf_tokenizer_json(std::string_view text, std::string_view source) {
  const Json root = parse_json_document(text, source);
  if (!root.is_object()) fail(source, ": the top level is not a JSON object");
  const Json& model = member(root, "model", "the file", source);
  check_byte_level_bpe(model, source);
  const auto pre_tokenizer = root.find("pre_tokenizer");  // looked at in place, never copied
  if (pre_tokenizer == root.end() || !splits_with_o200k(*pre_tokenizer)) {
    fail(source, ": \"pre_tokenizer\" does not split with Llama 4's o200k pattern, so this is ",
         "not a Llama 4 tokenizer");
  }
  HfTokenizerJson result{
      TokenVocabulary(read_vocab(member(model, "vocab", "\"model\"", source), source), source,
                      [](std::int32_t id) { return "vocab id " + std::to_string(id); }),
      read_added_tokens(root, source)};
  const Json& merges = member(model, "merges", "\"model\"", source);
  if (!merges.is_array()) fail(source, ": \"model.merges\" is not a JSON array");
  check_merges_follow_ids(
      merges.size(), [&](std::size_t index) { return read_merge(merges[index], index, source); },
      result.vocabulary, source);
  return result;
}

HfTokenizerJson load_hf_tokenizer_json(const std::filesystem::path& path) {
  const MappedFile file(path);
  const std::string_view text(reinterpret_cast<const char*>(file.data()), file.size());
  return parse_hf_tokenizer_json(text, path.string());
}

}  // namespace llama4
