// Chapter 02: the Llama 4 tokenizer.
//
// With no arguments, a tour: a sentence cut into pieces and merged into tokens, special tokens,
// the chat format and streaming decode. It uses Meta's tokenizer.model if it is found
// ($LLAMA4_TOKENIZER or ../shared/llama4/tokenizer.model), else the hand-made vocabulary.
//
//   build/bin/chapter02_tokenizer [--tokenizer PATH | --toy]
//       --explain TEXT                               pieces, merges and ids of one text
//       --encode-json IN.json [--bos] [--special]    JSON array of strings -> arrays of ids
//       --decode-json IDS.json                       JSON array of id arrays -> strings
//       --write-toy-vocabulary OUT                   the hand-made vocabulary as a tiktoken file
//       --help                                       every option
// IN.json / IDS.json may be "-" for standard input.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/debugging/data_paths.hpp"
#include "common/program/command_line.hpp"
#include "common/program/run_main.hpp"
#include "common/tensors/atomic_file.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/json_document.hpp"
#include "common/tensors/regular_file.hpp"
#include "common/tokenizer/byte_pair_encoding.hpp"
#include "common/tokenizer/chat_format.hpp"
#include "common/tokenizer/long_run_splitter.hpp"
#include "common/tokenizer/tiktoken_ranks.hpp"
#include "common/tokenizer/tokenizer.hpp"
#include "common/tokenizer/toy_vocabulary.hpp"
#include "common/tokenizer/utf8.hpp"
#include "common/tokenizer/utf8_stream_decoder.hpp"

using namespace llama4;
using Json = nlohmann::json;

namespace {

struct Options {
  std::string tokenizer_path;
  bool toy = false;
  std::optional<std::string> explain_text;
  std::string encode_json, decode_json, write_toy;
  EncodeOptions encode;
};

// One byte as it would appear in a C string literal.
std::string escape_byte(unsigned char byte) {
  if (byte == '\n') return "\\n";
  if (byte == '\t') return "\\t";
  if (byte == '\r') return "\\r";
  if (byte == '"' || byte == '\\') return std::string("\\") + static_cast<char>(byte);
  if (byte >= 0x20 && byte < 0x7F) return std::string(1, static_cast<char>(byte));
  char hex[5];
  std::snprintf(hex, sizeof(hex), "\\x%02X", byte);
  return hex;
}

// Bytes as a readable literal: whole UTF-8 characters as they are, everything else escaped, so
// half a character shows as \xF0\x9F.
std::string show(std::string_view bytes) {
  std::string out = "\"";
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    const Utf8Sequence sequence = inspect_utf8(bytes, offset);
    const auto byte = static_cast<unsigned char>(bytes[offset]);
    if (sequence.kind == Utf8Sequence::Kind::kComplete && byte >= 0x80) {
      out.append(bytes.substr(offset, sequence.length));
      offset += sequence.length;
    } else {
      out += escape_byte(byte);
      ++offset;
    }
  }
  return out + "\"";
}

std::string ids_text(const std::vector<std::int32_t>& ids) {
  std::string out = "[";
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + std::to_string(ids[i]);
  return out + "]";
}

// The pipeline of Tokenizer::encode, one stage at a time.
void explain(const Tokenizer& tokenizer, std::string_view text) {
  const std::vector<std::int32_t> all_ids = tokenizer.encode(text);  // also checks the UTF-8
  std::cout << "text " << show(text) << " (" << text.size() << " bytes)\n";
  const std::vector<std::string_view> chunks = split_long_runs(text);
  if (chunks.size() > 1) std::cout << "Meta's long-run cuts make " << chunks.size() << " chunks\n";
  for (const std::string_view chunk : chunks) {
    for (const std::string_view piece : tokenizer.pretokenizer().split(chunk)) {
      std::cout << "  piece " << show(piece);
      if (const std::int32_t whole = tokenizer.vocabulary().find(piece); whole >= 0) {
        std::cout << "  is token " << whole << "\n";
      } else {
        std::vector<std::int32_t> ids;
        byte_pair_encode(tokenizer.vocabulary(), piece, ids);
        std::cout << "\n";
        for (const MergeStep& step : byte_pair_merge_steps(tokenizer.vocabulary(), piece)) {
          std::cout << "      merge " << show(step.left) << " + " << show(step.right) << " -> rank "
                    << step.rank << "\n";
        }
        std::cout << "    tokens";
        for (const std::int32_t id : ids) std::cout << " " << show(tokenizer.token_bytes(id));
        std::cout << " = " << ids_text(ids) << "\n";
      }
    }
  }
  std::cout << "ids " << ids_text(all_ids) << "\n";
}

void tour(const Tokenizer& tokenizer) {
  std::cout
      << "\n1. Text is bytes, cut into pieces by the o200k pattern, each piece merged by rank\n";
  explain(tokenizer, "Hello world!\n\n  It's 2025-04-05, ok?  ");

  std::cout << "\n2. Special tokens: the text \"<|eot|>\" is plain text unless allowed\n";
  const std::string typed = "a<|eot|>b";
  std::cout << "   default        " << ids_text(tokenizer.encode(typed)) << "\n"
            << "   allow_special  " << ids_text(tokenizer.encode(typed, {.allow_special = true}))
            << "   (<|eot|> = " << tokenizer.eot_id() << ")\n";

  std::cout << "\n3. The chat format\n";
  const std::vector<ChatMessage> dialog = {{"system", "You are a helpful assistant"},
                                           {"user", "Answer who are you in the form of jeopardy?"}};
  const std::vector<std::int32_t> prompt = encode_dialog(tokenizer, dialog);
  std::cout << "   " << prompt.size() << " tokens: " << ids_text(prompt) << "\n   "
            << show(tokenizer.decode(prompt)) << "\n";

  std::cout << "\n4. Streaming decode holds back half a character\n";
  Utf8StreamDecoder stream(tokenizer);
  for (const std::int32_t id : tokenizer.encode("🦙 café")) {
    const std::string out = stream.push(id);
    std::cout << "   token " << id << " " << show(tokenizer.token_bytes(id)) << " -> prints "
              << show(out) << "\n";
  }
  std::cout << "   flush -> " << show(stream.flush()) << "\n";
}

std::string read_input(const std::string& path) {
  return path == "-" ? read_standard_input() : read_regular_file(path);
}

// Bounded nesting, no duplicate keys (json_document.hpp): the file may come from anywhere.
Json parse_json(const std::string& path) {
  return parse_json_document(read_input(path), path == "-" ? "standard input" : path);
}

void encode_json(const Tokenizer& tokenizer, const std::string& path,
                 const EncodeOptions& options) {
  const Json texts = parse_json(path);
  if (!texts.is_array()) fail(path, ": expected a JSON array of strings");
  Json out = Json::array();
  for (std::size_t i = 0; i < texts.size(); ++i) {
    if (!texts[i].is_string()) fail(path, ": element ", i, " is not a string");
    out.push_back(tokenizer.encode(texts[i].get_ref<const std::string&>(), options));
  }
  std::cout << out.dump() << "\n";
}

void decode_json(const Tokenizer& tokenizer, const std::string& path) {
  const Json sequences = parse_json(path);
  if (!sequences.is_array()) fail(path, ": expected a JSON array of arrays of ids");
  Json out = Json::array();
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    const Json& ids = sequences[i];
    if (!ids.is_array()) fail(path, ": element ", i, " is not an array of ids");
    std::vector<std::int32_t> values;
    for (const Json& id : ids) {
      const std::optional<std::int64_t> value = json_integer(id);
      if (!value || *value < INT32_MIN || *value > INT32_MAX) {
        fail(path, ": element ", i, " holds ", json_excerpt(id), ", which is not a token id");
      }
      values.push_back(static_cast<std::int32_t>(*value));
    }
    out.push_back(tokenizer.decode(values));
  }
  // JSON strings must be UTF-8; a split character becomes U+FFFD, as in Python's decode.
  std::cout << out.dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
}

// The tokenizer to use, and a line saying which one it is.
Tokenizer open_tokenizer(const Options& options, std::string& which) {
  if (options.toy) {
    which = "the hand-made vocabulary (--toy)";
    return Tokenizer::from_vocabulary(toy_vocabulary());
  }
  const std::filesystem::path path = options.tokenizer_path.empty()
                                         ? default_tokenizer_path()
                                         : std::filesystem::path(options.tokenizer_path);
  if (!options.tokenizer_path.empty() || std::filesystem::exists(path)) {
    which = path.string();
    return Tokenizer::load(path);
  }
  which = "the hand-made vocabulary: Meta's tokenizer.model is not at " + path.string() +
          " (set LLAMA4_TOKENIZER or pass --tokenizer)";
  return Tokenizer::from_vocabulary(toy_vocabulary());
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CommandLine command_line(
      "Chapter 02: the Llama 4 tokenizer. With no options, a tour: a sentence cut into pieces and "
      "merged into tokens, special tokens, the chat format and streaming decode.");
  CLI::App& app = command_line.app();
  auto* path = app.add_option("--tokenizer", options.tokenizer_path,
                              "Meta's tokenizer.model or a tokenizer.json (default: "
                              "$LLAMA4_TOKENIZER or ../shared/llama4/tokenizer.model, else the "
                              "hand-made vocabulary)")
                   ->option_text("PATH");
  app.add_flag("--toy", options.toy, "use the hand-made vocabulary")->excludes(path);
  auto* explain_option = app.add_option("--explain", options.explain_text,
                                        "show the pieces, merges and ids of one text")
                             ->option_text("TEXT");
  auto* encode = app.add_option("--encode-json", options.encode_json,
                                "JSON array of strings (a file, or - for standard input) -> JSON "
                                "array of id arrays")
                     ->option_text("IN.json");
  app.add_flag("--bos", options.encode.bos, "with --encode-json: start with <|begin_of_text|>")
      ->needs(encode);
  app.add_flag("--special", options.encode.allow_special,
               "with --encode-json: text like <|eot|> becomes the special token")
      ->needs(encode);
  auto* decode = app.add_option("--decode-json", options.decode_json,
                                "JSON array of id arrays (a file, or -) -> JSON array of strings")
                     ->option_text("IDS.json");
  auto* write = app.add_option("--write-toy-vocabulary", options.write_toy,
                               "write the hand-made vocabulary as a tiktoken file")
                    ->option_text("OUT");
  explain_option->excludes(encode)->excludes(decode)->excludes(write);
  encode->excludes(decode)->excludes(write);
  decode->excludes(write);
  command_line.parse(argc, argv);

  return run_main([&] {
    if (!options.write_toy.empty()) {
      write_file_atomically(options.write_toy, format_tiktoken_ranks(toy_vocabulary()));
      return 0;
    }
    std::string which;
    const Tokenizer tokenizer = open_tokenizer(options, which);
    const bool scripted = !options.encode_json.empty() || !options.decode_json.empty();
    // Scripts read standard output, so the note goes to standard error for them.
    (scripted ? std::cerr : std::cout) << "(tokenizer: " << which << ")\n";
    if (!options.encode_json.empty()) {
      encode_json(tokenizer, options.encode_json, options.encode);
    } else if (!options.decode_json.empty()) {
      decode_json(tokenizer, options.decode_json);
    } else if (options.explain_text) {
      explain(tokenizer, *options.explain_text);
    } else {
      tour(tokenizer);
    }
    return 0;
  });
}
