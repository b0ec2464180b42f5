// DType: the element types a tensor can hold.
//
// The first list is the safetensors one, so a checkpoint header can always be validated (every
// dtype has a known size). Computation supports the float types F32, BF16 and F16, plus I32 for
// token ids; the rest can be listed and inspected but a kernel asked to use them reports a clear
// error.
//
// Then come the block-quantized types of chapter 12 (Q8_0, Q4_0, Q4_1: llama.cpp's layouts). Their
// elements have no size of their own: 32 consecutive elements of a row share one block of bytes
// (34, 18 or 20 of them), so sizes and offsets are counted in whole blocks (dtype_bytes). They
// never appear in a safetensors header: a quantized checkpoint stores the blocks as U8 and says in
// its config.json which format they are (see common/quantization/quantized_checkpoint.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
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
  BOOL,
  // Block-quantized (chapter 12): see common/quantization/block_formats.hpp.
  Q8_0,
  Q4_0,
  Q4_1
};

// Bytes per element. An Error for the block-quantized types, whose elements have no whole size.
std::size_t dtype_size(DType dtype);

// True for Q8_0, Q4_0 and Q4_1.
bool is_block_quantized(DType dtype);
// Elements per block: 32 for the block-quantized types, 1 for the rest.
std::int64_t dtype_block_elements(DType dtype);
// Bytes of `elements` consecutive elements. For a block-quantized type `elements` must be a whole
// number of blocks (an Error otherwise).
std::size_t dtype_bytes(DType dtype, std::int64_t elements);

// The safetensors spelling: "F32", "BF16", ...; "Q8_0", "Q4_0", "Q4_1" for the block types.
std::string_view dtype_name(DType dtype);

// Parses the safetensors spelling; nullopt for anything else (the block types included: they are
// not safetensors types).
std::optional<DType> parse_dtype(std::string_view name);

// True for the types our kernels read as numbers (F32, BF16, F16).
bool is_floating_point(DType dtype);

}  // namespace llama4
