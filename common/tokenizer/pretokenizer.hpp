// The pre-tokenizer: cutting text into pieces before byte-pair merging.
//
// BPE never merges across a piece boundary, so the pieces decide which tokens can exist at all.
// Llama 4 uses OpenAI's o200k split pattern (the one GPT-4o uses), a regular expression whose
// alternatives, tried left to right at each position, are:
//
//   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//        a word ending in lower case ("Hello", " world", "It's"), with one optional leading
//        non-letter (usually a space) and an English contraction in any letter case ('S, 'Ll)
//   [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|...)?
//        a word starting in upper case ("NASA", " HTTPServer" -> " HTTPServer")
//   \p{N}{1,3}                   numbers, in groups of at most three digits ("2025" -> "202" "5")
//    ?[^\s\p{L}\p{N}]+[\r\n/]*   punctuation and symbols, with one optional leading space
//   \s*[\r\n]+                   line breaks, with the whitespace before them
//   \s+(?!\S)                    whitespace, but leave the last space for the next word
//   \s+                          whatever whitespace is left
//
// \p{M} (combining marks) sits inside the letter classes, so "é" written as e + U+0301 stays one
// word. Hand-written matchers that approximate the case classes with [^a-z] / [^A-Z] (llama.cpp's)
// split such words differently; we run the pattern itself, with PCRE2 (UTF + Unicode properties).
//
// One translation is needed. tiktoken's regex engine (Rust's regex crate) defines \s as Unicode's
// White_Space property. PCRE2 also counts U+180E MONGOLIAN VOWEL SEPARATOR, which stopped being a
// space in Unicode 6.3. So before compiling, \s and \S are spelled out as that exact character set
// (pcre2_pattern()). Unicode categories come from PCRE2's tables (Unicode 14 in Debian 12's
// PCRE2 10.42); characters assigned in later Unicode versions may be classed differently from a
// newer tiktoken build.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llama4 {

// Meta's O200K_PATTERN, exactly as tokenizer.py writes it.
inline constexpr std::string_view kO200kPattern =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Unicode's White_Space characters, written for a PCRE2 character class.
inline constexpr std::string_view kWhiteSpaceClassBody =
    R"(\t\n\x{0B}\f\r\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";

// The pattern with \s and \S replaced by kWhiteSpaceClassBody (inside a class: its members;
// outside: [...] or [^...]).
std::string pcre2_pattern(std::string_view pattern);

class Pretokenizer {
 public:
  // Compiles the pattern (with PCRE2's JIT where available). Throws llama4::Error if PCRE2
  // rejects it.
  explicit Pretokenizer(std::string_view pattern = kO200kPattern);

  // Appends the matches of the pattern in `text`, left to right, to `pieces` (views into text).
  // Throws llama4::Error if `text` is not valid UTF-8. Like tiktoken's find_iter, characters no
  // alternative matches would be skipped; the o200k pattern matches every character, so the pieces
  // concatenate to the text.
  void split(std::string_view text, std::vector<std::string_view>& pieces) const;
  std::vector<std::string_view> split(std::string_view text) const;

  // split() for text whose UTF-8 the caller has already checked. Tokenizer::encode checks the
  // whole text once, at the door, and then splits many pieces of it (cut at character
  // boundaries, so each is valid too); checking every piece again would read every byte twice.
  // Invalid UTF-8 here is undefined behaviour inside PCRE2, so only a checked text may come in.
  void split_valid_utf8(std::string_view text, std::vector<std::string_view>& pieces) const;

  const std::string& pattern() const;

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
};

}  // namespace llama4
