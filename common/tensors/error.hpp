// Errors: one exception type for everything that comes from outside the program.
//
// A bad file, a wrong shape or an unknown token is never a crash. The code that finds the problem
// throws llama4::Error with a message that names the file, tensor, field or token at fault; every
// chapter's main() catches it, prints it and exits with status 1.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace llama4 {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// fail("tensor ", name, " has ", n, " elements") builds the message from its parts and throws.
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw Error(message.str());
}

}  // namespace llama4
