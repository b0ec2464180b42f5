#include "common/tensors/atomic_file.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/tensors/error.hpp"

namespace llama4 {

AtomicFile::AtomicFile(std::filesystem::path path) : path_(std::move(path)) {
  if (path_.empty()) fail("cannot write a file with an empty name");
  std::string pattern = path_.string() + ".tmp-XXXXXX";  // mkstemp replaces the X's
  fd_ = ::mkstemp(pattern.data());
  if (fd_ < 0) {
    const int error = errno;
    fail("cannot create ", path_, " (a temporary file next to it: ", std::strerror(error), ")");
  }
  temporary_ = pattern;
  // mkstemp makes the file private (0600); an output file gets the usual permissions.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd_, 0666 & ~mask);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
}

void AtomicFile::fail_with_errno(const char* what, int error) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(temporary_.c_str());
  temporary_.clear();
  fail(what, " ", path_, " failed: ", std::strerror(error), " (nothing was written)");
}

void AtomicFile::write(const void* data, std::size_t size) {
  if (fd_ < 0) fail("writing ", path_, " after it was committed or failed");
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd_, bytes, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      fail_with_errno("writing", errno);
    }
    bytes += written;
    size -= static_cast<std::size_t>(written);
  }
}

void AtomicFile::commit() {
  if (fd_ < 0) fail("committing ", path_, " twice, or after it failed");
  // close() is where some file systems (NFS) report a failed write. No fsync(): the promise is
  // about the program failing, not the machine losing power, and tests write many small files.
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail_with_errno("writing", errno);
  }
  fd_ = -1;
  if (::rename(temporary_.c_str(), path_.c_str()) != 0) fail_with_errno("renaming into", errno);
  temporary_.clear();
}

void write_file_atomically(const std::filesystem::path& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
}

}  // namespace llama4
