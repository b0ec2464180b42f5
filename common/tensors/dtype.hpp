// DType: the element types a tensor can hold.
//
// The list is the safetensors one, so a checkpoint header can always be validated (every dtype has
// a known size). Computation supports the float types F32, BF16 and F16, plus I32 for token ids;
// the rest can be listed and inspected but a kernel asked to use them reports a clear error.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace llama4 {

enum class DType {
  F64,
  F32,
  F16,
  BF16,
  F8_E4M3,
  F8_E5M2,
  I64,
  I32,
  I16,
  I8,
  U64,
  U32,
  U16,
  U8,
  BOOL
};

// Bytes per element.
std::size_t dtype_size(DType dtype);

// The safetensors spelling: "F32", "BF16", ...
std::string_view dtype_name(DType dtype);

// Parses the safetensors spelling; nullopt for anything else.
std::optional<DType> parse_dtype(std::string_view name);

// True for the types our kernels read as numbers (F32, BF16, F16).
bool is_floating_point(DType dtype);

}  // namespace llama4
