#include "common/tokenizer/pretokenizer.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/tensors/error.hpp"
#include "common/tokenizer/utf8.hpp"

namespace llama4 {
namespace {

std::string pcre2_error_text(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

// Per-thread matching state: PCRE2's match data (where the match offsets go) and the JIT's stack.
// The compiled pattern is shared and read-only, so one Pretokenizer serves any number of threads.
struct MatchScratch {
  pcre2_match_data* match_data = pcre2_match_data_create(1, nullptr);
  // The JIT needs stack for backtracking through long runs; 32 KiB (its default) is not enough
  // for a 25,000-character word, so allow it to grow to 64 MiB.
  pcre2_jit_stack* jit_stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);

  MatchScratch() {
    if (match_data == nullptr || jit_stack == nullptr || context == nullptr) {
      fail("pre-tokenizer: out of memory creating PCRE2 match state");
    }
    pcre2_jit_stack_assign(context, nullptr, jit_stack);
  }
  ~MatchScratch() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_data_free(match_data);
  }
  MatchScratch(const MatchScratch&) = delete;
  MatchScratch& operator=(const MatchScratch&) = delete;
};

MatchScratch& thread_scratch() {
  thread_local MatchScratch scratch;
  return scratch;
}

}  // namespace

struct Pretokenizer::Compiled {
  std::string pattern;
  pcre2_code* code = nullptr;
  bool jit = false;

  ~Compiled() { pcre2_code_free(code); }
};

std::string pcre2_pattern(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 's' || next == 'S') {
        const bool negated = next == 'S';
        if (in_class && negated)
          fail("pre-tokenizer: \\S inside a character class is not supported");
        if (in_class) {
          out.append(kWhiteSpaceClassBody);
        } else {
          out.append(negated ? "[^" : "[").append(kWhiteSpaceClassBody).append("]");
        }
      } else {
        out.push_back(c);
        out.push_back(next);
      }
      continue;
    }
    if (c == '[') in_class = true;  // the pattern has no nested classes
    if (c == ']') in_class = false;
    out.push_back(c);
  }
  return out;
}

Pretokenizer::Pretokenizer(std::string_view pattern) {
  auto compiled = std::make_shared<Compiled>();
  compiled->pattern = std::string(pattern);
  const std::string translated = pcre2_pattern(pattern);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  compiled->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                                 PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr);
  if (compiled->code == nullptr) {
    fail("pre-tokenizer: PCRE2 cannot compile the split pattern at offset ", error_offset, ": ",
         pcre2_error_text(error_code));
  }
  // The JIT turns the pattern into machine code, several times faster than PCRE2's interpreter.
  // Without it (an unsupported CPU), matching still works, only slower.
  compiled->jit = pcre2_jit_compile(compiled->code, PCRE2_JIT_COMPLETE) == 0;
  compiled_ = std::move(compiled);
}

const std::string& Pretokenizer::pattern() const {
  return compiled_->pattern;
}

void Pretokenizer::split(std::string_view text, std::vector<std::string_view>& pieces) const {
  // PCRE2 must not see invalid UTF-8 when told not to check it (split_valid_utf8); one linear pass
  // here keeps that promise for every caller that has not checked the text itself.
  if (const std::optional<std::size_t> offset = find_invalid_utf8(text)) {
    fail("pre-tokenizer: the text is not valid UTF-8 at byte offset ", *offset);
  }
  split_valid_utf8(text, pieces);
}

void Pretokenizer::split_valid_utf8(std::string_view text,
                                    std::vector<std::string_view>& pieces) const {
  MatchScratch& scratch = thread_scratch();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(scratch.match_data);
  std::size_t start = 0;
  while (start < text.size()) {
    // The caller checked the UTF-8; PCRE2 would otherwise check the whole text again on every
    // call, which would make the loop quadratic.
    const int result =
        compiled_->jit ? pcre2_jit_match(compiled_->code, subject, text.size(), start,
                                         PCRE2_NO_UTF_CHECK, scratch.match_data, scratch.context)
                       : pcre2_match(compiled_->code, subject, text.size(), start,
                                     PCRE2_NO_UTF_CHECK, scratch.match_data, scratch.context);
    if (result == PCRE2_ERROR_NOMATCH) return;
    if (result < 0) {
      fail("pre-tokenizer: PCRE2 failed at byte ", start, " of a ", text.size(),
           "-byte piece: ", pcre2_error_text(result));
    }
    const std::size_t match_start = ovector[0];
    const std::size_t match_end = ovector[1];
    if (match_end == match_start) {  // an empty match: step over one character, as find_iter does
      start = match_end + 1;
      while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
        ++start;
      continue;
    }
    pieces.push_back(text.substr(match_start, match_end - match_start));
    start = match_end;
  }
}

std::vector<std::string_view> Pretokenizer::split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  split(text, pieces);
  return pieces;
}

}  // namespace llama4
