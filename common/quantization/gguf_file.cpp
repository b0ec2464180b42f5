#include "common/quantization/gguf_file.hpp"

#include <algorithm>
#include <cstring>

#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

constexpr std::uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr std::uint64_t kDefaultAlignment = 32;
constexpr std::uint32_t kMaxDims = 4;  // ggml's GGML_MAX_DIMS

// The ggml types whose sizes we know: elements per block and bytes per block. A file may hold any
// of them (we check its offsets and sizes); only some can be computed with (dtype_of_ggml_type).
struct GgmlType {
  std::uint32_t number;
  const char* name;
  std::uint32_t block_elements;
  std::uint32_t block_bytes;
};
constexpr GgmlType kGgmlTypes[] = {
    {0, "F32", 1, 4},       {1, "F16", 1, 2},       {2, "Q4_0", 32, 18},    {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},    {7, "Q5_1", 32, 24},    {8, "Q8_0", 32, 34},    {9, "Q8_1", 32, 36},
    {10, "Q2_K", 256, 84},  {11, "Q3_K", 256, 110}, {12, "Q4_K", 256, 144}, {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210}, {15, "Q8_K", 256, 292}, {24, "I8", 1, 1},       {25, "I16", 1, 2},
    {26, "I32", 1, 4},      {27, "I64", 1, 8},      {28, "F64", 1, 8},      {30, "BF16", 1, 2},
};

const GgmlType* find_ggml_type(std::uint32_t number) {
  for (const GgmlType& type : kGgmlTypes)
    if (type.number == number) return &type;
  return nullptr;
}

// Reads the file front to back. Every read checks the bytes left first, so a count or a length
// from a hostile file can never make us read (or allocate) past the end.
class Reader {
 public:
  Reader(const std::filesystem::path& path, const std::byte* data, std::size_t size)
      : path_(path), data_(data), size_(size) {}

  std::uint64_t position() const { return position_; }
  std::uint64_t left() const { return size_ - position_; }

  template <class T>
  T number(std::string_view what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_ + position_, sizeof(T));  // GGUF is little-endian, as is x86/ARM
    position_ += sizeof(T);
    return value;
  }

  std::string string(std::string_view what) {
    const auto length = number<std::uint64_t>(what);
    if (length > left()) {
      fail(path_, ": ", what, " claims ", length, " bytes at byte ", position_, ", but only ",
           left(), " are left in the file");
    }
    std::string text(reinterpret_cast<const char*>(data_ + position_), length);
    position_ += length;
    return text;
  }

  // A count of items that each take at least `item_bytes` bytes: more than the file can hold is
  // damage, refused before anything is reserved for them.
  std::uint64_t count(std::string_view what, std::uint64_t item_bytes) {
    const auto value = number<std::uint64_t>(what);
    if (value > left() / item_bytes) {
      fail(path_, ": ", what, " is ", value, ", more than the ", left(),
           " bytes left in the file can hold");
    }
    return value;
  }

 private:
  void need(std::uint64_t bytes, std::string_view what) const {
    if (bytes > left()) {
      fail(path_, ": the file ends inside ", what, " (byte ", position_, " of ", size_, ")");
    }
  }

  const std::filesystem::path& path_;
  const std::byte* data_;
  std::uint64_t size_;
  std::uint64_t position_ = 0;
};

// The smallest number of bytes a value of `type` takes in the file (for the count checks).
std::uint64_t smallest_size(GgufType type) {
  switch (type) {
    case GgufType::u8:
    case GgufType::i8:
    case GgufType::boolean:
      return 1;
    case GgufType::u16:
    case GgufType::i16:
      return 2;
    case GgufType::u32:
    case GgufType::i32:
    case GgufType::f32:
      return 4;
    case GgufType::u64:
    case GgufType::i64:
    case GgufType::f64:
    case GgufType::string:  // its u64 length
      return 8;
    case GgufType::array:  // element type + count
      return 12;
  }
  return 1;
}

GgufType read_type(Reader& reader, const std::filesystem::path& path, const std::string& key) {
  const auto number = reader.number<std::uint32_t>("the type of \"" + printable(key) + "\"");
  if (number > static_cast<std::uint32_t>(GgufType::f64)) {
    fail(path, ": metadata \"", printable(key), "\" has value type ", number,
         ", which GGUF does not define (0 to 12)");
  }
  return static_cast<GgufType>(number);
}

GgufValue read_value(Reader& reader, const std::filesystem::path& path, const std::string& key,
                     GgufType type, bool inside_array) {
  GgufValue value;
  value.type = type;
  const std::string what = "the value of \"" + printable(key) + "\"";
  switch (type) {
    case GgufType::u8:
      value.unsigned_value = reader.number<std::uint8_t>(what);
      break;
    case GgufType::u16:
      value.unsigned_value = reader.number<std::uint16_t>(what);
      break;
    case GgufType::u32:
      value.unsigned_value = reader.number<std::uint32_t>(what);
      break;
    case GgufType::u64:
      value.unsigned_value = reader.number<std::uint64_t>(what);
      break;
    case GgufType::i8:
      value.signed_value = reader.number<std::int8_t>(what);
      break;
    case GgufType::i16:
      value.signed_value = reader.number<std::int16_t>(what);
      break;
    case GgufType::i32:
      value.signed_value = reader.number<std::int32_t>(what);
      break;
    case GgufType::i64:
      value.signed_value = reader.number<std::int64_t>(what);
      break;
    case GgufType::f32:
      value.float_value = reader.number<float>(what);
      break;
    case GgufType::f64:
      value.float_value = reader.number<double>(what);
      break;
    case GgufType::boolean: {
      const auto byte = reader.number<std::uint8_t>(what);
      if (byte > 1) fail(path, ": metadata \"", printable(key), "\" is a bool of value ", +byte);
      value.unsigned_value = byte;
      break;
    }
    case GgufType::string:
      value.string_value = reader.string(what);
      break;
    case GgufType::array: {
      if (inside_array) fail(path, ": metadata \"", printable(key), "\" is an array of arrays");
      value.element_type = read_type(reader, path, key);
      if (value.element_type == GgufType::array) {
        fail(path, ": metadata \"", printable(key), "\" is an array of arrays");
      }
      const std::uint64_t count = reader.count("the length of \"" + printable(key) + "\"",
                                               smallest_size(value.element_type));
      value.elements.reserve(count);
      for (std::uint64_t i = 0; i < count; ++i)
        value.elements.push_back(read_value(reader, path, key, value.element_type, true));
      break;
    }
  }
  return value;
}

}  // namespace

std::string_view gguf_type_name(GgufType type) {
  static constexpr std::string_view kNames[] = {"u8",  "i8",  "u16",  "i16",    "u32",
                                                "i32", "f32", "bool", "string", "array",
                                                "u64", "i64", "f64"};
  const auto index = static_cast<std::size_t>(type);
  return index < std::size(kNames) ? kNames[index] : "unknown";
}

std::optional<DType> dtype_of_ggml_type(std::uint32_t ggml_type) {
  switch (ggml_type) {
    case 0:
      return DType::F32;
    case 1:
      return DType::F16;
    case 2:
      return DType::Q4_0;
    case 3:
      return DType::Q4_1;
    case 8:
      return DType::Q8_0;
    case 30:
      return DType::BF16;
    default:
      return std::nullopt;
  }
}

std::string ggml_type_name(std::uint32_t ggml_type) {
  const GgmlType* type = find_ggml_type(ggml_type);
  return type != nullptr ? type->name : "type " + std::to_string(ggml_type);
}

GgufFile::GgufFile(const std::filesystem::path& path)
    : file_(std::make_shared<const MappedFile>(path)) {
  Reader reader(path, file_->data(), file_->size());
  if (file_->size() < 4 || reader.number<std::uint32_t>("the magic") != kMagic) {
    fail(path, " is not a GGUF file (it does not start with \"GGUF\")");
  }
  version_ = reader.number<std::uint32_t>("the version");
  if (version_ != 2 && version_ != 3) {
    fail(path, ": GGUF version ", version_, " is not supported (only 2 and 3; version 1 files",
         " are from before August 2023 and need converting again)");
  }
  // A tensor entry takes at least 8 (name length) + 4 (dims) + 4 (type) + 8 (offset) bytes; a
  // metadata entry at least 8 (key length) + 4 (type) + 1.
  const std::uint64_t tensor_count = reader.count("the tensor count", 24);
  const std::uint64_t metadata_count = reader.count("the metadata count", 13);

  for (std::uint64_t i = 0; i < metadata_count; ++i) {
    std::string key = reader.string("metadata key " + std::to_string(i));
    const GgufType type = read_type(reader, path, key);
    GgufValue value = read_value(reader, path, key, type, false);
    if (!metadata_.emplace(key, std::move(value)).second) {
      fail(path, ": metadata \"", printable(key), "\" appears twice");
    }
  }
  if (const GgufValue* alignment = find("general.alignment")) {
    if (alignment->type != GgufType::u32 || alignment->unsigned_value == 0 ||
        (alignment->unsigned_value & (alignment->unsigned_value - 1)) != 0) {
      fail(path, ": \"general.alignment\" must be a power of two stored as u32");
    }
    alignment_ = alignment->unsigned_value;
  } else {
    alignment_ = kDefaultAlignment;
  }

  tensors_.reserve(tensor_count);
  for (std::uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensorInfo info;
    info.name = reader.string("the name of tensor " + std::to_string(i));
    const std::string what = "tensor \"" + printable(info.name) + "\"";
    const auto dims = reader.number<std::uint32_t>(what);
    if (dims == 0 || dims > kMaxDims) {
      fail(path, ": ", what, " has ", dims, " dimensions (1 to ", kMaxDims, " allowed)");
    }
    std::vector<std::uint64_t> sizes(dims);
    for (std::uint64_t& size : sizes) size = reader.number<std::uint64_t>(what);
    info.ggml_type = reader.number<std::uint32_t>(what);
    info.offset = reader.number<std::uint64_t>(what);

    const GgmlType* type = find_ggml_type(info.ggml_type);
    if (type == nullptr)
      fail(path, ": ", what, " has ggml type ", info.ggml_type, ", unknown here");
    // Elements and bytes, without overflow; a row (sizes[0], innermost) is whole blocks.
    std::uint64_t elements = 1;
    for (const std::uint64_t size : sizes) {
      if (size > static_cast<std::uint64_t>(INT64_MAX) ||
          __builtin_mul_overflow(elements, size, &elements) ||
          elements > static_cast<std::uint64_t>(INT64_MAX)) {
        fail(path, ": ", what, " has an impossibly large shape");
      }
    }
    if (sizes[0] % type->block_elements != 0) {
      fail(path, ": ", what, " is ", type->name, " but its rows of ", sizes[0],
           " elements are not whole blocks of ", type->block_elements);
    }
    if (__builtin_mul_overflow(elements / type->block_elements,
                               static_cast<std::uint64_t>(type->block_bytes), &info.bytes)) {
      fail(path, ": ", what, " has an impossibly large shape");
    }
    for (std::uint32_t d = dims; d-- > 0;)
      info.shape.push_back(static_cast<std::int64_t>(sizes[d]));

    if (!tensor_index_.emplace(info.name, tensors_.size()).second) {
      fail(path, ": ", what, " appears twice");
    }
    tensors_.push_back(std::move(info));
  }

  // The data section starts at the next multiple of the alignment.
  data_start_ = (reader.position() + alignment_ - 1) / alignment_ * alignment_;
  if (data_start_ > file_->size()) fail(path, ": the file ends before its data section");
  const std::uint64_t data_size = file_->size() - data_start_;

  std::vector<const GgufTensorInfo*> by_offset;
  for (const GgufTensorInfo& info : tensors_) {
    const std::string what = "tensor \"" + printable(info.name) + "\"";
    if (info.offset % alignment_ != 0) {
      fail(path, ": ", what, " starts at offset ", info.offset,
           ", not a multiple of the alignment ", alignment_);
    }
    if (info.offset > data_size || info.bytes > data_size - info.offset) {
      fail(path, ": ", what, " (", info.bytes, " bytes at offset ", info.offset,
           ") runs past the end of the file's data section (", data_size, " bytes)");
    }
    by_offset.push_back(&info);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensorInfo& before = *by_offset[i - 1];
    if (before.offset + before.bytes > by_offset[i]->offset) {
      fail(path, ": tensors \"", printable(before.name), "\" and \"", printable(by_offset[i]->name),
           "\" overlap in the data section");
    }
  }
}

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto found = metadata_.find(key);
  return found == metadata_.end() ? nullptr : &found->second;
}

namespace {

const GgufValue& require(const GgufFile& file, std::string_view key) {
  const GgufValue* value = file.find(key);
  if (value == nullptr) fail(file.path(), ": the metadata has no \"", key, "\"");
  return *value;
}

}  // namespace

std::uint64_t GgufFile::unsigned_integer(std::string_view key) const {
  const GgufValue& value = require(*this, key);
  switch (value.type) {
    case GgufType::u8:
    case GgufType::u16:
    case GgufType::u32:
    case GgufType::u64:
      return value.unsigned_value;
    case GgufType::i8:
    case GgufType::i16:
    case GgufType::i32:
    case GgufType::i64:
      if (value.signed_value >= 0) return static_cast<std::uint64_t>(value.signed_value);
      fail(path(), ": \"", key, "\" is ", value.signed_value, ", but it must not be negative");
    default:
      fail(path(), ": \"", key, "\" is a ", gguf_type_name(value.type), ", not an integer");
  }
}

double GgufFile::number(std::string_view key) const {
  const GgufValue& value = require(*this, key);
  switch (value.type) {
    case GgufType::f32:
    case GgufType::f64:
      return value.float_value;
    case GgufType::u8:
    case GgufType::u16:
    case GgufType::u32:
    case GgufType::u64:
      return static_cast<double>(value.unsigned_value);
    case GgufType::i8:
    case GgufType::i16:
    case GgufType::i32:
    case GgufType::i64:
      return static_cast<double>(value.signed_value);
    default:
      fail(path(), ": \"", key, "\" is a ", gguf_type_name(value.type), ", not a number");
  }
}

const std::string& GgufFile::string(std::string_view key) const {
  const GgufValue& value = require(*this, key);
  if (value.type != GgufType::string) {
    fail(path(), ": \"", key, "\" is a ", gguf_type_name(value.type), ", not a string");
  }
  return value.string_value;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  const auto found = tensor_index_.find(name);
  return found == tensor_index_.end() ? nullptr : &tensors_[found->second];
}

Tensor GgufFile::tensor(const GgufTensorInfo& info) const {
  const std::optional<DType> dtype = dtype_of_ggml_type(info.ggml_type);
  if (!dtype) {
    fail(path(), ": tensor \"", printable(info.name), "\" is ", ggml_type_name(info.ggml_type),
         "; this reader computes with F32, F16, BF16, Q8_0, Q4_0 and Q4_1 (convert the file with",
         " llama.cpp's llama-quantize to one of those)");
  }
  return Tensor::view(file_->data() + data_start_ + info.offset, info.shape, *dtype, file_);
}

}  // namespace llama4
