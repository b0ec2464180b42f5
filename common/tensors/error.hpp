// Errors: one exception type for everything that comes from outside the program.
//
// A bad file, a wrong shape or an unknown token is never a crash. The code that finds the problem
// throws llama4::Error with a message that names the file, tensor, field or token at fault; every
// chapter's main() catches it (run_main, common/program/run_main.hpp), prints it and exits with
// status 1.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace llama4 {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// fail("tensor ", name, " has ", n, " elements") builds the message from its parts and throws.
// A NUL byte (a name from a file may hold one) becomes "\x00": what() is a C string, and would
// end there.
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  std::string text = message.str();
  for (std::size_t at = text.find('\0'); at != std::string::npos; at = text.find('\0', at))
    text.replace(at, 1, "\\x00");
  throw Error(text);
}

// `text` made safe to show on a terminal: control characters (ESC sequences can recolour, retitle
// or rewrite the screen; a newline can forge a line of output) and bytes that are not UTF-8 become
// \xNN escapes. Names that came from a file (tensor names, tokens, keys) are printed through it.
std::string printable(std::string_view text);

}  // namespace llama4
