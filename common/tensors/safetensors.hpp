// safetensors: the file format Hugging Face checkpoints use.
//
// A safetensors file is three parts:
//
//   [ 8 bytes: N, little-endian u64 ][ N bytes: JSON header ][ data section: raw tensor bytes ]
//
// The header maps each tensor name to its dtype, shape and byte range inside the data section:
//
//   {"model.norm.weight": {"dtype": "BF16", "shape": [5120], "data_offsets": [0, 10240]}, ...,
//    "__metadata__": {"format": "pt"}}
//
// There is no compression and no per-tensor framing, so a tensor is just a pointer into the file:
// we memory-map the file and hand out views (zero-copy). Because the file comes from outside, every
// number in the header is checked before it is used: header length against the file size, the JSON
// itself (no key twice, bounded nesting: json_document.hpp), the dtype, shape x dtype size against
// the byte range (without overflow, even for an empty tensor), ranges inside the data section, no
// two tensors overlapping. Each failure is a llama4::Error naming the file and the tensor.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/tensors/dtype.hpp"
#include "common/tensors/mapped_file.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {

// What the header says about one tensor. Offsets are relative to the start of the data section.
struct TensorEntry {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Maps and validates the file; throws llama4::Error naming the file (and tensor) at fault.
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_->path(); }
  std::vector<std::string> names() const;  // sorted
  bool contains(std::string_view name) const { return entries_.find(name) != entries_.end(); }
  const TensorEntry& entry(std::string_view name) const;
  // A read-only view of the tensor's bytes inside the mapping (no copy).
  Tensor tensor(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::shared_ptr<const MappedFile> file_;
  std::size_t data_start_ = 0;  // file offset of the data section: 8 + header length
  std::map<std::string, TensorEntry, std::less<>> entries_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors to a new safetensors file (larger dtypes first, then by name; data contiguous;
// header padded to a multiple of 8 bytes; so every tensor stays aligned). Used for activation dumps
// and by tests. The file appears whole or not at all (AtomicFile): a failed write leaves nothing
// under `path`.
void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// What write_safetensors_streamed needs to know of a tensor before its bytes exist.
struct TensorDeclaration {
  std::string name;
  DType dtype = DType::F32;  // a safetensors type (not block-quantized: store those as U8)
  Shape shape;
};

// The same file, written without holding every tensor at once: the header is built from the
// declarations, then produce(declaration) is called for one tensor at a time (in file order) and
// its bytes written before the next is made. Chapter 12's quantizer streams a checkpoint larger
// than memory this way. A produced tensor that differs from its declaration is an Error (and no
// file is left).
void write_safetensors_streamed(const std::filesystem::path& path,
                                std::vector<TensorDeclaration> tensors,
                                const std::map<std::string, std::string>& metadata,
                                const std::function<Tensor(const TensorDeclaration&)>& produce);

}  // namespace llama4
