#include "common/tokenizer/toy_vocabulary.hpp"

#include "common/tensors/error.hpp"

namespace llama4 {

const std::vector<std::pair<std::string, std::string>>& toy_merges() {
  static const std::vector<std::pair<std::string, std::string>> merges = {
      // English letters and words.
      {"t", "h"},
      {"h", "e"},
      {"i", "n"},
      {"e", "r"},
      {"a", "n"},
      {" ", "t"},
      {" ", "a"},
      {"o", "n"},
      {" ", " "},
      {"r", "e"},
      {" t", "he"},
      {"e", "n"},
      {"o", "r"},
      {" ", "w"},
      {"in", "g"},
      {" ", "s"},
      {"l", "l"},
      {"th", "e"},
      {" ", "o"},
      {" ", "i"},
      {"H", "e"},
      {"He", "ll"},
      {"Hell", "o"},
      {" w", "or"},
      {" wor", "l"},
      {" worl", "d"},
      {"o", "u"},
      {" a", "n"},
      {" an", "d"},
      {" i", "s"},
      {" ", "b"},
      {"e", "s"},
      {"a", "t"},
      {" ", "c"},
      {"i", "t"},
      {"I", "t"},
      {"s", "t"},
      {" o", "f"},
      {" t", "o"},
      {" i", "n"},
      {"a", "r"},
      {"e", "d"},
      {" ", "h"},
      {"l", "o"},
      {" ", "l"},
      {" l", "o"},
      {" lo", "w"},
      {" low", "er"},
      {" ", "n"},
      {" n", "e"},
      {" ne", "w"},
      {" new", "er"},
      {"e", "st"},
      {" low", "est"},
      {"ing", "s"},
      {"o", "k"},
      {" ", "ok"},
      {" ", "T"},
      {"a", "a"},
      {"aa", "a"},
      // Contractions: the split pattern keeps "'s" with the word before it.
      {"'", "s"},
      {"'", "t"},
      {"'", "ll"},
      {"It", "'s"},
      // Whitespace.
      {"\n", "\n"},
      {"  ", "  "},
      {"\r", "\n"},
      {" ", "\n"},
      {"\t", "\t"},
      // Digits: the pattern cuts numbers into groups of at most three.
      {"1", "2"},
      {"12", "3"},
      {"2", "0"},
      {"20", "2"},
      {"0", "0"},
      {"00", "0"},
      // Punctuation and the pieces of special-token text typed as plain text.
      {"<", "|"},
      {"|", ">"},
      {"o", "t"},
      {"e", "ot"},
      {"<|", "eot"},
      {"<|eot", "|>"},
      {"!", "\n"},
      {".", "\n"},
      {",", " "},
      {"?", " "},
      // Multi-byte characters: é (C3 A9), 東 (E6 9D B1), half of 👋 (F0 9F 91 8B).
      {"\xC3", "\xA9"},
      {"a", "f"},
      {"c", "af"},
      {"caf", "\xC3\xA9"},
      {"\xE6", "\x9D"},
      {"\xE6\x9D", "\xB1"},
      {"\xF0", "\x9F"},
      {"\x91", "\x8B"},
      {"\xF0\x9F", "\x91\x8B"},
      // Words for the chat format.
      {"s", "y"},
      {"sy", "st"},
      {"syst", "e"},
      {"syste", "m"},
      {"u", "s"},
      {"us", "er"},
      {"a", "s"},
      {"as", "s"},
      {"i", "st"},
      {"ass", "ist"},
      {"assist", "an"},
      {"assistan", "t"},
      {"i", "p"},
      {"y", "t"},
      {"yt", "h"},
      {"yth", "on"},
      {"ip", "ython"},
  };
  return merges;
}

TokenVocabulary toy_vocabulary() {
  std::vector<std::string> tokens;
  for (int byte = 0; byte < 256; ++byte) tokens.push_back(std::string(1, static_cast<char>(byte)));
  for (const auto& [left, right] : toy_merges()) tokens.push_back(left + right);
  TokenVocabulary vocabulary(tokens, "toy vocabulary");
  // Each merge must join two tokens learned before it, as in real BPE training.
  for (std::size_t i = 0; i < toy_merges().size(); ++i) {
    const auto& [left, right] = toy_merges()[i];
    const auto id = static_cast<std::int32_t>(256 + i);
    if (vocabulary.find(left) >= id || vocabulary.find(right) >= id || vocabulary.find(left) < 0 ||
        vocabulary.find(right) < 0) {
      fail("toy vocabulary: merge ", i, " uses a token that is not learned before it");
    }
  }
  return vocabulary;
}

}  // namespace llama4
