// MappedFile: a whole file mapped read-only into memory.
//
// Why map instead of read: Llama 4 Scout is 216 GB of bf16 weights. mmap() gives us a pointer to
// all of it at once without copying anything; the operating system loads pages from disk the first
// time they are touched and can drop them again under memory pressure. Tensors are then plain views
// into the mapping ("zero-copy"), kept alive by a shared_ptr to this object.
#pragma once

#include <cstddef>
#include <filesystem>

namespace llama4 {

class MappedFile {
 public:
  // Maps the file; throws llama4::Error naming the path if it cannot be opened or mapped.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace llama4
