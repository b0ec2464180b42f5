#include "common/quantization/gguf_tokenizer.hpp"

#include <string>
#include <vector>

#include "common/quantization/gguf_file.hpp"
#include "common/tensors/error.hpp"
#include "common/tokenizer/byte_level_alphabet.hpp"
#include "common/tokenizer/byte_level_merges.hpp"

namespace llama4 {
namespace {

constexpr std::int32_t kNormalToken = 1;      // llama.cpp's LLAMA_TOKEN_TYPE_NORMAL
constexpr std::size_t kSpecialTokens = 2048;  // Llama 4's, after the base vocabulary

// The strings of an array of strings; an Error unless `key` is one.
const std::vector<GgufValue>& string_array(const GgufFile& file, const char* key) {
  const GgufValue* value = file.find(key);
  if (value == nullptr) fail(file.path(), ": the metadata has no \"", key, "\"");
  if (value->type != GgufType::array || value->element_type != GgufType::string) {
    fail(file.path(), ": \"", key, "\" is not an array of strings");
  }
  return value->elements;
}

}  // namespace

std::optional<Tokenizer> load_gguf_tokenizer(const std::filesystem::path& path) {
  const GgufFile file(path);
  if (file.find("tokenizer.ggml.tokens") == nullptr) return std::nullopt;
  const std::string source = path.string() + " (its tokenizer)";
  const std::string& model = file.string("tokenizer.ggml.model");
  if (model != "gpt2") {
    fail(source, ": \"tokenizer.ggml.model\" is \"", printable(model),
         "\"; Llama 4's vocabulary is a byte-level BPE (\"gpt2\")");
  }
  if (file.find("tokenizer.ggml.pre") != nullptr && file.string("tokenizer.ggml.pre") != "llama4") {
    fail(source, ": \"tokenizer.ggml.pre\" is \"", printable(file.string("tokenizer.ggml.pre")),
         "\", not Llama 4's pre-tokenizer (\"llama4\")");
  }
  const std::vector<GgufValue>& tokens = string_array(file, "tokenizer.ggml.tokens");

  // The normal tokens: the leading run of type 1, or all but the special ones without types.
  std::size_t normal = tokens.size() >= kSpecialTokens ? tokens.size() - kSpecialTokens : 0;
  if (const GgufValue* types = file.find("tokenizer.ggml.token_type")) {
    if (types->type != GgufType::array || types->element_type != GgufType::i32 ||
        types->elements.size() != tokens.size()) {
      fail(source, ": \"tokenizer.ggml.token_type\" must be one i32 per token (", tokens.size(),
           ")");
    }
    normal = 0;
    while (normal < tokens.size() && types->elements[normal].signed_value == kNormalToken) ++normal;
  }
  if (tokens.size() - normal != kSpecialTokens) {
    fail(source, ": ", normal, " normal tokens and ", tokens.size() - normal,
         " others; a Llama 4 vocabulary has its 2,048 special tokens after the normal ones");
  }
  std::vector<std::string> bytes(normal);
  for (std::size_t id = 0; id < normal; ++id) {
    std::optional<std::string> decoded = alphabet_text_to_bytes(tokens[id].string_value);
    if (!decoded) {
      fail(source, ": token ", id, " \"", printable(tokens[id].string_value),
           "\" has a character outside the byte-level alphabet");
    }
    bytes[id] = std::move(*decoded);
  }
  TokenVocabulary vocabulary(bytes, source,
                             [](std::int32_t id) { return "token " + std::to_string(id); });
  const std::vector<GgufValue>& merges = string_array(file, "tokenizer.ggml.merges");
  check_merges_follow_ids(
      merges.size(),
      [&](std::size_t index) {
        return split_merge_text(merges[index].string_value, index, source);
      },
      vocabulary, source);
  return Tokenizer::from_vocabulary(std::move(vocabulary));
}

}  // namespace llama4
