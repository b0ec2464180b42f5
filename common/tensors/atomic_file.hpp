// Writing a file all or nothing.
//
// A program that dies, or a disk that fills up, halfway through writing an output file must not
// leave half a file behind under the real name: the next program would read it as a whole one
// (a truncated activation dump looks like a model with fewer layers). So the bytes go to a
// temporary file in the same directory ("out.bin.tmp-XXXXXX"), which is closed and then renamed
// over the real name in one step; rename() within a directory is atomic. If anything fails, the
// temporary file is removed and the error names the file and the system's reason.
//
//   AtomicFile out("activations.safetensors");
//   out.write(header.data(), header.size());
//   out.write(data, size);
//   out.commit();          // only now does activations.safetensors exist (or change)
//
// An AtomicFile destroyed without commit() (an exception on the way) removes its temporary file.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace llama4 {

class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path);  // creates the temporary file
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, std::size_t size);
  void write(std::string_view bytes) { write(bytes.data(), bytes.size()); }
  // Closes the temporary file and renames it to the real name.
  void commit();

  const std::filesystem::path& path() const { return path_; }

 private:
  [[noreturn]] void fail_with_errno(const char* what, int error);

  std::filesystem::path path_;
  std::filesystem::path temporary_;
  int fd_ = -1;
};

// The whole file in one call.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

}  // namespace llama4
