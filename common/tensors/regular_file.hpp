// Reading a whole file that came from outside: a config.json, an index, a tokenizer, a prompt.
//
// Every file the programs read is named by a user or by another file, so it may be anything: a
// directory, a FIFO that nobody writes to (opening it for reading would wait forever), /dev/zero
// (which never ends), a terminal. Only regular files are read. The file is opened without blocking
// and checked with fstat() before a single byte is read, and every failure is a llama4::Error that
// names the file and gives the system's reason (strerror(errno)).
#pragma once

#include <filesystem>
#include <string>

namespace llama4 {

// Opens `path` read-only and returns the descriptor, or throws if it cannot be opened or is not a
// regular file. The caller closes it. (MappedFile maps what this opens.)
int open_regular_file(const std::filesystem::path& path);

// The whole contents of the regular file at `path`.
std::string read_regular_file(const std::filesystem::path& path);

// Everything on standard input. A closed standard input (a program started with `<&-`) is an
// error, not an empty text.
std::string read_standard_input();

}  // namespace llama4
