#include "common/tensors/safetensors.hpp"

#include <algorithm>
#include <cstring>

#include "common/tensors/atomic_file.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/json_document.hpp"

namespace llama4 {
namespace {

// The reference implementation refuses headers over 100 MB; real ones are a few hundred KB.
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

using Json = nlohmann::json;

std::uint64_t read_u64_little_endian(const std::byte* bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<std::uint64_t>(bytes[i]);
  return value;
}

// Parses the header text. Duplicate keys (a tensor listed twice, a field given twice inside one
// entry) and absurd nesting are refused by parse_json_document (json_document.hpp).
Json parse_header(const std::filesystem::path& path, std::string_view text) {
  Json header = parse_json_document(text, path.string() + ": the header");
  if (!header.is_object()) fail(path, ": the header is not a JSON object");
  return header;
}

Shape parse_shape(const std::filesystem::path& path, const std::string& name, const Json& shape) {
  if (!shape.is_array()) fail(path, ": tensor \"", name, "\": \"shape\" is not an array");
  Shape dims;
  for (const Json& size : shape) {
    if (!size.is_number_unsigned()) {
      fail(path, ": tensor \"", name, "\": shape ", json_excerpt(shape),
           " holds something other than non-negative integers");
    }
    const auto value = size.get<std::uint64_t>();
    if (value > static_cast<std::uint64_t>(INT64_MAX)) {
      fail(path, ": tensor \"", name, "\": dimension ", value, " is too large");
    }
    dims.push_back(static_cast<std::int64_t>(value));
  }
  return dims;
}

// Bytes a tensor of this shape and dtype occupies, or an error if the shape is impossibly large.
// A zero anywhere makes the tensor empty, but the other sizes still count: the strides of
// [0, 2^40, 2^40] are products of them, so every non-zero size multiplies into the check.
std::uint64_t byte_size(const std::filesystem::path& path, const std::string& name,
                        const Shape& shape, DType dtype) {
  std::uint64_t bytes = dtype_size(dtype);
  bool empty = false;
  for (std::int64_t size : shape) {
    if (size == 0) {
      empty = true;
      continue;
    }
    if (__builtin_mul_overflow(bytes, static_cast<std::uint64_t>(size), &bytes) ||
        bytes > static_cast<std::uint64_t>(INT64_MAX)) {
      fail(path, ": tensor \"", name, "\": shape ", shape_string(shape), " is impossibly large");
    }
  }
  return empty ? 0 : bytes;
}

TensorEntry parse_entry(const std::filesystem::path& path, const std::string& name,
                        const Json& json, std::uint64_t data_size, std::uint64_t data_start) {
  if (!json.is_object()) fail(path, ": tensor \"", name, "\": entry is not a JSON object");
  for (const char* field : {"dtype", "shape", "data_offsets"}) {
    if (!json.contains(field)) fail(path, ": tensor \"", name, "\": missing \"", field, "\"");
  }
  TensorEntry entry;
  entry.name = name;

  const Json& dtype = json["dtype"];
  if (!dtype.is_string()) fail(path, ": tensor \"", name, "\": \"dtype\" is not a string");
  const auto parsed = parse_dtype(dtype.get<std::string>());
  if (!parsed)
    fail(path, ": tensor \"", name, "\": unknown dtype \"", dtype.get<std::string>(), "\"");
  entry.dtype = *parsed;

  entry.shape = parse_shape(path, name, json["shape"]);

  const Json& offsets = json["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    fail(path, ": tensor \"", name, "\": \"data_offsets\" must be two non-negative integers, got ",
         json_excerpt(offsets));
  }
  entry.begin = offsets[0].get<std::uint64_t>();
  entry.end = offsets[1].get<std::uint64_t>();
  if (entry.end < entry.begin) {
    fail(path, ": tensor \"", name, "\": data_offsets [", entry.begin, ", ", entry.end,
         "] end before they begin");
  }
  if (entry.end > data_size) {
    fail(path, ": tensor \"", name, "\": data_offsets [", entry.begin, ", ", entry.end,
         "] run past the end of the data section (", data_size, " bytes)");
  }
  const std::uint64_t expected = byte_size(path, name, entry.shape, entry.dtype);
  if (entry.end - entry.begin != expected) {
    fail(path, ": tensor \"", name, "\": shape ", shape_string(entry.shape), " of ",
         dtype_name(entry.dtype), " needs ", expected, " bytes but data_offsets [", entry.begin,
         ", ", entry.end, "] hold ", entry.end - entry.begin);
  }
  // Kernels read elements through typed pointers, which must be aligned to the element size.
  if ((data_start + entry.begin) % dtype_size(entry.dtype) != 0) {
    fail(path, ": tensor \"", name, "\" starts at file offset ", data_start + entry.begin,
         ", which is not aligned to its ", dtype_size(entry.dtype), "-byte ",
         dtype_name(entry.dtype), " elements");
  }
  return entry;
}

void check_no_overlap(const std::filesystem::path& path,
                      const std::map<std::string, TensorEntry, std::less<>>& entries) {
  std::vector<const TensorEntry*> by_offset;
  for (const auto& [name, entry] : entries) {
    if (entry.end > entry.begin) by_offset.push_back(&entry);  // empty tensors occupy nothing
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorEntry* a, const TensorEntry* b) { return a->begin < b->begin; });
  for (std::size_t i = 1; i < by_offset.size(); ++i) {
    const TensorEntry& previous = *by_offset[i - 1];
    const TensorEntry& current = *by_offset[i];
    if (current.begin < previous.end) {
      fail(path, ": tensors \"", previous.name, "\" [", previous.begin, ", ", previous.end,
           ") and \"", current.name, "\" [", current.begin, ", ", current.end, ") overlap");
    }
  }
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path)
    : file_(std::make_shared<const MappedFile>(path)) {
  const std::uint64_t file_size = file_->size();
  if (file_size < 8) {
    fail(path, ": ", file_size, " bytes is too short for a safetensors file ",
         "(it starts with an 8-byte header length)");
  }
  const std::uint64_t header_size = read_u64_little_endian(file_->data());
  if (header_size > file_size - 8) {
    fail(path, ": header length ", header_size, " is larger than the rest of the file (",
         file_size - 8, " bytes); the file is truncated or not safetensors");
  }
  if (header_size > kMaxHeaderBytes) {
    fail(path, ": header length ", header_size, " exceeds the ", kMaxHeaderBytes, "-byte limit");
  }
  data_start_ = 8 + header_size;
  const std::uint64_t data_size = file_size - data_start_;

  const std::string_view text(reinterpret_cast<const char*>(file_->data() + 8), header_size);
  const Json header = parse_header(path, text);
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) fail(path, ": \"__metadata__\" is not a JSON object");
      for (const auto& [key, text_value] : value.items()) {
        if (!text_value.is_string()) fail(path, ": metadata \"", key, "\" is not a string");
        metadata_[key] = text_value.get<std::string>();
      }
      continue;
    }
    entries_.emplace(name, parse_entry(path, name, value, data_size, data_start_));
  }
  check_no_overlap(path, entries_);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> names;
  for (const auto& [name, entry] : entries_) names.push_back(name);
  return names;
}

const TensorEntry& SafetensorsFile::entry(std::string_view name) const {
  const auto found = entries_.find(name);
  if (found == entries_.end()) fail(path(), ": no tensor named \"", name, "\"");
  return found->second;
}

Tensor SafetensorsFile::tensor(std::string_view name) const {
  const TensorEntry& found = entry(name);
  const std::byte* start = file_->data() + data_start_ + found.begin;
  return Tensor::view(static_cast<const void*>(start), found.shape, found.dtype, file_);
}

void write_safetensors(const std::filesystem::path& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorDeclaration> declarations;
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [name, tensor] : tensors) {
    declarations.push_back({name, tensor.dtype(), tensor.shape()});
    by_name.emplace(name, &tensor);
  }
  write_safetensors_streamed(path, declarations, metadata, [&](const TensorDeclaration& tensor) {
    return *by_name.at(tensor.name);
  });
}

void write_safetensors_streamed(const std::filesystem::path& path,
                                std::vector<TensorDeclaration> tensors,
                                const std::map<std::string, std::string>& metadata,
                                const std::function<Tensor(const TensorDeclaration&)>& produce) {
  // Tensors with larger elements first, then by name (the order of the reference writer). The
  // data section has no gaps, so this is what keeps every tensor aligned to its element size: a
  // 2-byte BF16 tensor of odd length followed by an F32 one would start the F32 at an odd offset.
  std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
    const std::size_t a_size = dtype_size(a.dtype), b_size = dtype_size(b.dtype);
    return a_size != b_size ? a_size > b_size : a.name < b.name;
  });

  // The JSON header, tensors in that order with consecutive byte ranges. nlohmann's ordered_json
  // keeps our order so the file is byte-for-byte reproducible.
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const TensorDeclaration& tensor : tensors) {
    if (tensor.name == "__metadata__")
      fail("write_safetensors: a tensor cannot be named __metadata__");
    if (header.contains(tensor.name))
      fail("write_safetensors: tensor \"", tensor.name, "\" given twice");
    std::uint64_t size = dtype_size(tensor.dtype);
    for (const std::int64_t extent : tensor.shape) size *= static_cast<std::uint64_t>(extent);
    header[tensor.name] = {{"dtype", dtype_name(tensor.dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + size}}};
    offset += size;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception&) {
    fail("write_safetensors: ", path, ": a tensor name or metadata text is not valid UTF-8");
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // pad so the data section starts 8-byte aligned

  // All or nothing: a file cut short by a full disk or an error must not be left looking whole.
  AtomicFile out(path);
  char length[8];
  const std::uint64_t header_size = text.size();
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((header_size >> (8 * i)) & 0xff);
  out.write(length, sizeof length);
  out.write(text);
  for (const TensorDeclaration& declared : tensors) {
    const Tensor produced = produce(declared);
    if (produced.dtype() != declared.dtype || produced.shape() != declared.shape) {
      fail("write_safetensors: tensor \"", declared.name, "\" was declared ",
           dtype_name(declared.dtype), " ", shape_string(declared.shape), " but is ",
           dtype_name(produced.dtype()), " ", shape_string(produced.shape()));
    }
    const Tensor contiguous = produced.is_contiguous() ? produced : produced.clone();
    out.write(contiguous.raw_data(), contiguous.nbytes());
  }
  out.commit();
}

}  // namespace llama4
