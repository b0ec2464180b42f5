#include "common/tensors/regular_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

// Appends everything `fd` still has to `text`; returns 0 or the errno of the failed read().
int read_all(int fd, std::string& text) {
  char buffer[1 << 16];
  while (true) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got == 0) return 0;
    if (got < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    text.append(buffer, static_cast<std::size_t>(got));
  }
}

}  // namespace

int open_regular_file(const std::filesystem::path& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever. It changes
  // nothing for a regular file, which is all we go on to accept.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail("cannot open ", path, ": ", std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    fail("cannot stat ", path, ": ", std::strerror(error));
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    fail(path, " is not a regular file (",
         S_ISDIR(info.st_mode)    ? "a directory"
         : S_ISFIFO(info.st_mode) ? "a FIFO"
         : S_ISCHR(info.st_mode)  ? "a character device"
         : S_ISSOCK(info.st_mode) ? "a socket"
                                  : "a special file",
         ")");
  }
  return fd;
}

std::string read_regular_file(const std::filesystem::path& path) {
  const int fd = open_regular_file(path);
  std::string text;
  const int error = read_all(fd, text);
  ::close(fd);
  if (error != 0) fail("cannot read ", path, ": ", std::strerror(error));
  return text;
}

std::string read_standard_input() {
  if (::fcntl(STDIN_FILENO, F_GETFD) < 0) fail("standard input is closed");
  std::string text;
  const int error = read_all(STDIN_FILENO, text);
  if (error != 0) fail("cannot read standard input: ", std::strerror(error));
  return text;
}

}  // namespace llama4
