// Where the chapter 08 program's inputs come from: the tokenizer, the prompt, token ids.
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "chapters/08_model/modes.hpp"
#include "common/debugging/data_paths.hpp"
#include "common/model/synthetic_model.hpp"
#include "common/quantization/gguf_model.hpp"
#include "common/quantization/gguf_tokenizer.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/regular_file.hpp"

namespace llama4 {

std::string read_text_file(const std::string& path) {
  return read_regular_file(path);  // a FIFO or a directory is an error, not a hang or ""
}

std::vector<std::int32_t> parse_token_list(const std::string& argument) {
  const std::string text =
      argument.starts_with("@") ? read_text_file(argument.substr(1)) : argument;
  std::vector<std::int32_t> ids;
  std::string item;
  std::istringstream stream(text);
  while (std::getline(stream, item, ',')) {
    std::istringstream words(item);
    std::string word;
    while (words >> word) {
      std::int64_t id = -1;
      const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), id);
      if (error != std::errc() || end != word.data() + word.size() || id < 0 || id > INT32_MAX)
        fail("--tokens: \"", word, "\" is not a token id");
      ids.push_back(static_cast<std::int32_t>(id));
    }
  }
  if (ids.empty()) fail("--tokens: no token ids in \"", argument, "\"");
  return ids;
}

std::optional<Tokenizer> load_tokenizer(const ProgramOptions& options, bool required) {
  std::vector<std::filesystem::path> candidates;
  if (!options.tokenizer.empty()) {
    candidates.push_back(options.tokenizer);
  } else {
    // A GGUF file carries its own vocabulary (chapter 12). One that is not Llama 4's is an error
    // only when text needs it; token ids alone run without.
    if (is_gguf_path(options.model_directory)) {
      try {
        if (std::optional<Tokenizer> own = load_gguf_tokenizer(options.model_directory)) return own;
      } catch (const Error&) {
        if (required) throw;
        return std::nullopt;
      }
    }
    if (!options.model_directory.empty()) {
      const std::filesystem::path own = checkpoint_tokenizer_path(options.model_directory);
      if (!own.empty()) candidates.push_back(own);
    }
    candidates.push_back(default_tokenizer_path());
  }
  for (const auto& path : candidates) {
    if (std::filesystem::exists(path)) return Tokenizer::load(path);
  }
  if (!options.tokenizer.empty()) fail("--tokenizer: ", options.tokenizer, " does not exist");
  if (required) {
    fail("no tokenizer found (looked for ", candidates.back(),
         "); give --tokenizer PATH or set LLAMA4_TOKENIZER, or pass --tokens");
  }
  return std::nullopt;
}

void check_tokenizer_fits(const Tokenizer& tokenizer, const ModelConfig& config) {
  if (tokenizer.vocab_size() <= config.vocab_size) return;
  std::string shapes;
  for (const std::string& name : synthetic_models_that_take_text(tokenizer.vocab_size()))
    shapes.append(shapes.empty() ? "--synthetic " : " or ").append(name);
  fail("this model knows ", config.vocab_size, " token ids and the tokenizer makes ",
       tokenizer.vocab_size(), ", so it cannot take text: give token ids (--tokens 1,2,3)",
       shapes.empty() ? "" : ", or run a shape with Llama 4's vocabulary: " + shapes);
}

std::vector<std::int32_t> prompt_tokens(const ProgramOptions& options,
                                        const std::optional<Tokenizer>& tokenizer,
                                        const ModelConfig& config) {
  if (options.tokens) return parse_token_list(*options.tokens);
  std::optional<std::string> text = options.prompt;
  if (!options.prompt_file.empty()) text = read_text_file(options.prompt_file);
  // A synthetic model without a prompt: random ids, for measuring speed.
  if (!text && !options.synthetic.empty()) {
    if (options.random_prompt_length > config.max_position_embeddings) {
      fail("--prompt-length must be at most max_position_embeddings (",
           config.max_position_embeddings, "), got ", options.random_prompt_length);
    }
    std::vector<std::int32_t> ids;
    Sampler random({.seed = options.sampling.seed + 12345});
    for (std::int64_t i = 0; i < options.random_prompt_length; ++i) {
      ids.push_back(static_cast<std::int32_t>(random.next_uniform() *
                                              static_cast<double>(config.vocab_size)));
    }
    return ids;
  }
  if (!text && !::isatty(STDIN_FILENO)) {
    text = read_standard_input();  // a closed standard input is an error, not an empty prompt
    if (text->empty()) fail("no prompt: standard input was empty");
  }
  if (!text)
    fail("no prompt: give --prompt TEXT, --prompt-file F, --tokens, or text on standard input");
  if (!tokenizer) fail("a text prompt needs a tokenizer (--tokenizer PATH)");
  check_tokenizer_fits(*tokenizer, config);
  return tokenizer->encode(*text, {.bos = !options.no_bos});
}

}  // namespace llama4
