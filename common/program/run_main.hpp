// run_main: what every program's main() does with an error.
//
//   int main(int argc, char** argv) {
//     return llama4::run_main([&] { ...; return 0; });
//   }
//
// Any exception that escapes `body` becomes one line on standard error and the exit status
// `error_status`, never std::terminate's "terminate called after throwing an instance of ..."
// and a core dump:
//
//   llama4::Error                       error: <what went wrong, naming the file/tensor/field>
//   std::bad_alloc                      error: out of memory (...)
//   std::filesystem::filesystem_error   error: <the operation, the path and the system's reason>
//   any other std::exception            error: <what()>, marked as unexpected: a bug to report
//
// Standard output is flushed first, so what was printed before the error stays in order. Messages
// go through printable(): a tensor name holding terminal escape codes is shown, not obeyed.
//
// Before `body` runs, keep_freed_memory_for_reuse() (keep_freed_memory.hpp): activations freed by
// one layer are reused by the next instead of being faulted in afresh.
#pragma once

#include <functional>

namespace llama4 {

int run_main(const std::function<int()>& body, int error_status = 1);

}  // namespace llama4
