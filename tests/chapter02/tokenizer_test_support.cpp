#include "tests/chapter02/tokenizer_test_support.hpp"

#include <map>
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "common/debugging/data_paths.hpp"
#include "common/tensors/error.hpp"
#include "common/tokenizer/byte_level_alphabet.hpp"
#include "common/tokenizer/pretokenizer.hpp"
#include "common/tokenizer/special_tokens.hpp"
#include "common/tokenizer/toy_vocabulary.hpp"
#include "tests/support/test_support.hpp"

namespace llama4::testing {

using Json = nlohmann::json;

const Tokenizer& toy_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::from_vocabulary(toy_vocabulary());
  return tokenizer;
}

const Tokenizer& real_tokenizer() {
  static const Tokenizer tokenizer = Tokenizer::load(default_tokenizer_path());
  return tokenizer;
}

std::string hf_tokenizer_json_text(const TokenVocabulary& vocabulary, bool merges_as_pairs,
                                   int added_special) {
  Json vocab = Json::object();
  Json merges = Json::array();
  for (std::int32_t id = 0; id < vocabulary.size(); ++id) {
    const std::string_view bytes = vocabulary.bytes(id);
    vocab[bytes_to_alphabet_text(bytes)] = id;
    for (std::size_t cut = 1; cut < bytes.size(); ++cut) {
      const std::string_view left = bytes.substr(0, cut);
      const std::string_view right = bytes.substr(cut);
      if (vocabulary.find(left) < 0 || vocabulary.find(right) < 0) continue;
      const std::string a = bytes_to_alphabet_text(left);
      const std::string b = bytes_to_alphabet_text(right);
      merges.push_back(merges_as_pairs ? Json::array({a, b}) : Json(a + " " + b));
    }
  }
  Json added = Json::array();
  const std::vector<std::string> special = llama4_special_tokens();
  for (int i = 0; i < added_special; ++i) {
    added.push_back({{"id", vocabulary.size() + i},
                     {"content", special[static_cast<std::size_t>(i)]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  const Json split = {{"type", "Split"},
                      {"pattern", {{"Regex", std::string(kO200kPattern)}}},
                      {"behavior", "Isolated"},
                      {"invert", false}};
  const Json byte_level = {{"type", "ByteLevel"},
                           {"add_prefix_space", false},
                           {"trim_offsets", true},
                           {"use_regex", false}};
  const Json root = {{"version", "1.0"},
                     {"added_tokens", added},
                     {"normalizer", nullptr},
                     {"pre_tokenizer",
                      {{"type", "Sequence"}, {"pretokenizers", Json::array({split, byte_level})}}},
                     {"decoder", {{"type", "ByteLevel"}}},
                     {"model",
                      {{"type", "BPE"},
                       {"dropout", nullptr},
                       {"unk_token", nullptr},
                       {"continuing_subword_prefix", nullptr},
                       {"end_of_word_suffix", nullptr},
                       {"fuse_unk", false},
                       {"byte_fallback", false},
                       {"ignore_merges", true},
                       {"vocab", vocab},
                       {"merges", merges}}}};
  return root.dump();
}

std::filesystem::path golden_tokenizer_dir() {
  return std::filesystem::path(LLAMA4_SOURCE_DIR) / "golden" / "tokenizer";
}

namespace {

std::vector<std::int32_t> read_ids(const Json& entry, const char* plain, const char* runs) {
  std::vector<std::int32_t> ids;
  if (entry.contains(plain)) return entry[plain].get<std::vector<std::int32_t>>();
  for (const Json& run : entry.at(runs)) {
    ids.insert(ids.end(), run.at(1).get<std::size_t>(), run.at(0).get<std::int32_t>());
  }
  return ids;
}

GoldenSet parse_golden(const std::filesystem::path& path) {
  const Json root = Json::parse(read_file(path));
  GoldenSet set;
  set.bos_id = root.at("bos_id").get<std::int32_t>();
  set.eos_id = root.at("eos_id").get<std::int32_t>();
  set.base_tokens = root.at("base_tokens").get<std::int32_t>();
  for (const Json& entry : root.at("cases")) {
    GoldenCase c;
    c.kind = entry.at("kind").get<std::string>();
    if (entry.contains("text")) {
      c.text = entry["text"].get<std::string>();
    } else {
      for (const Json& part : entry.at("parts")) {
        const std::string piece = part.at(0).get<std::string>();
        for (std::size_t i = 0; i < part.at(1).get<std::size_t>(); ++i) c.text += piece;
      }
    }
    c.ids = read_ids(entry, "ids", "ids_runs");
    const bool differs = entry.contains("special_ids") || entry.contains("special_ids_runs");
    c.special_ids = differs ? read_ids(entry, "special_ids", "special_ids_runs") : c.ids;
    set.cases.push_back(std::move(c));
  }
  return set;
}

}  // namespace

const GoldenSet& golden_set(const std::string& file_name) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<GoldenSet>> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[file_name];
  if (!slot) slot = std::make_unique<GoldenSet>(parse_golden(golden_tokenizer_dir() / file_name));
  return *slot;
}

std::string printable(const std::string& text, std::size_t limit) {
  std::string out;
  for (const char c : text.substr(0, limit)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02X", byte);
      out += hex;
    } else {
      out += c;
    }
  }
  if (text.size() > limit) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

}  // namespace llama4::testing
