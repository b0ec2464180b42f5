// GGUF: llama.cpp's file format, the one most quantized Llama 4 downloads come in.
//
// Where safetensors keeps its header in JSON, GGUF is binary from end to end (little-endian):
//
//   "GGUF"  u32 version (2 or 3)  u64 tensor_count  u64 metadata_count
//   metadata_count x  { string key, u32 value_type, value }
//   tensor_count   x  { string name, u32 n_dims, u64 dims[n_dims], u32 ggml_type, u64 offset }
//   padding to `general.alignment` (32 unless the metadata says otherwise)
//   data section: each tensor's bytes at data_start + offset (offset a multiple of the alignment)
//
// A string is a u64 byte count then the bytes (no NUL). A value is one of 13 types: the integers
// u8 i8 u16 i16 u32 i32 u64 i64, f32 f64, bool, string, or an array (u32 element type, u64 count,
// the elements). The model's whole description travels in the metadata: "general.architecture"
// = "llama4", then "llama4.block_count", "llama4.embedding_length", ..., and the tokenizer's
// vocabulary as string arrays.
//
// The trap of the dims: GGUF lists them innermost first (ggml's ne[0] is the length of a row).
// A matrix that PyTorch calls [out, in] is written dims = {in, out}. We reverse them, so a
// GgufTensorInfo's shape reads like a PyTorch shape and the bytes are row-major as usual.
//
// Everything in the file is checked before it is used, as for safetensors: counts and string
// lengths against the bytes left, value types, the alignment, every tensor's type, shape (no
// overflow, whole blocks per row), offset (aligned, inside the data section, no overlap). A
// failure is a llama4::Error naming the file and the key or tensor at fault.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/tensors/dtype.hpp"
#include "common/tensors/mapped_file.hpp"
#include "common/tensors/tensor.hpp"

namespace llama4 {

// GGUF's value types, numbered as in the file.
enum class GgufType : std::uint32_t {
  u8 = 0,
  i8 = 1,
  u16 = 2,
  i16 = 3,
  u32 = 4,
  i32 = 5,
  f32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  u64 = 10,
  i64 = 11,
  f64 = 12,
};

std::string_view gguf_type_name(GgufType type);

// One metadata value. Numbers are kept in the widest type of their kind; `type` says what the file
// wrote. An array holds its elements in `elements` (all of `element_type`; GGUF has no arrays of
// arrays in practice, and we refuse them).
struct GgufValue {
  GgufType type = GgufType::u8;
  std::uint64_t unsigned_value = 0;  // u8 u16 u32 u64, bool
  std::int64_t signed_value = 0;     // i8 i16 i32 i64
  double float_value = 0.0;          // f32 f64
  std::string string_value;
  GgufType element_type = GgufType::u8;  // arrays
  std::vector<GgufValue> elements;       // arrays
};

// What the file says about one tensor. `shape` is in PyTorch order (outermost first).
struct GgufTensorInfo {
  std::string name;
  std::uint32_t ggml_type = 0;
  Shape shape;
  std::uint64_t offset = 0;  // from the start of the data section
  std::uint64_t bytes = 0;
};

// The ggml type numbers we can compute with, as our DType: F32 (0), F16 (1), Q4_0 (2), Q4_1 (3),
// Q8_0 (8), BF16 (30). Their block layouts are llama.cpp's (block_formats.hpp). nullopt for the
// others (Q4_K, IQ2_XS, ...), which the reader still parses and names in its error.
std::optional<DType> dtype_of_ggml_type(std::uint32_t ggml_type);
// llama.cpp's name of a ggml type ("Q4_K"), or "type N" for a number it does not have.
std::string ggml_type_name(std::uint32_t ggml_type);

class GgufFile {
 public:
  // Maps and validates the file; throws llama4::Error naming the file (and key or tensor).
  explicit GgufFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_->path(); }
  std::uint32_t version() const { return version_; }
  std::uint64_t alignment() const { return alignment_; }

  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return metadata_; }
  const GgufValue* find(std::string_view key) const;
  // The value of `key`, which must be there and be an integer (of any width, not negative) / a
  // number / a string; an Error naming the file and the key otherwise.
  std::uint64_t unsigned_integer(std::string_view key) const;
  double number(std::string_view key) const;
  const std::string& string(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }  // in file order
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  // A read-only view of a tensor's bytes (zero-copy), typed by dtype_of_ggml_type; an Error for a
  // type we cannot compute with.
  Tensor tensor(const GgufTensorInfo& info) const;

 private:
  std::shared_ptr<const MappedFile> file_;
  std::uint32_t version_ = 0;
  std::uint64_t alignment_ = 32;
  std::uint64_t data_start_ = 0;
  std::map<std::string, GgufValue, std::less<>> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, std::size_t, std::less<>> tensor_index_;
};

}  // namespace llama4
