#include "common/tensors/dtype.hpp"

#include <array>
#include <cstdlib>

#include "common/tensors/error.hpp"

namespace llama4 {
namespace {

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::size_t size;  // bytes per element, or per block for the block types
  std::int64_t block_elements = 1;
};

constexpr std::array<DTypeInfo, 15> kDTypes = {{
    {DType::F64, "F64", 8},
    {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},
    {DType::F8_E4M3, "F8_E4M3", 1},
    {DType::F8_E5M2, "F8_E5M2", 1},
    {DType::I64, "I64", 8},
    {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},
    {DType::I8, "I8", 1},
    {DType::U64, "U64", 8},
    {DType::U32, "U32", 4},
    {DType::U16, "U16", 2},
    {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1},
}};

// Not safetensors types, so kept out of the table parse_dtype searches.
constexpr std::array<DTypeInfo, 3> kBlockDTypes = {{
    {DType::Q8_0, "Q8_0", 34, 32},
    {DType::Q4_0, "Q4_0", 18, 32},
    {DType::Q4_1, "Q4_1", 20, 32},
}};

const DTypeInfo& info(DType dtype) {
  for (const DTypeInfo& entry : kDTypes) {
    if (entry.dtype == dtype) return entry;
  }
  for (const DTypeInfo& entry : kBlockDTypes) {
    if (entry.dtype == dtype) return entry;
  }
  std::abort();  // unreachable: every enumerator is in the table
}

}  // namespace

std::size_t dtype_size(DType dtype) {
  if (is_block_quantized(dtype)) {
    fail(dtype_name(dtype), " elements have no size of their own (", info(dtype).block_elements,
         " share a block of ", info(dtype).size, " bytes); count bytes with dtype_bytes");
  }
  return info(dtype).size;
}

bool is_block_quantized(DType dtype) {
  return info(dtype).block_elements > 1;
}

std::int64_t dtype_block_elements(DType dtype) {
  return info(dtype).block_elements;
}

std::size_t dtype_bytes(DType dtype, std::int64_t elements) {
  const DTypeInfo& entry = info(dtype);
  if (elements % entry.block_elements != 0) {
    fail(elements, " ", entry.name, " elements are not a whole number of ", entry.block_elements,
         "-element blocks");
  }
  return static_cast<std::size_t>(elements / entry.block_elements) * entry.size;
}

std::string_view dtype_name(DType dtype) {
  return info(dtype).name;
}

std::optional<DType> parse_dtype(std::string_view name) {
  for (const DTypeInfo& entry : kDTypes) {
    if (entry.name == name) return entry.dtype;
  }
  return std::nullopt;
}

bool is_floating_point(DType dtype) {
  return dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F16;
}

}  // namespace llama4
