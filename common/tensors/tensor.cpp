#include "common/tensors/tensor.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <ostream>
#include <sstream>

#include "common/quantization/block_formats.hpp"

namespace llama4 {
namespace {

// Row-major strides for a shape: the last dimension moves by 1, each earlier one by the product of
// the sizes after it. [24, 4, 16] -> [64, 16, 1].
Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  std::int64_t step = 1;
  for (std::size_t axis = shape.size(); axis-- > 0;) {
    strides[axis] = step;
    step *= shape[axis];
  }
  return strides;
}

std::int64_t element_count(const Shape& shape) {
  std::int64_t count = 1;
  for (std::int64_t size : shape) count *= size;
  return count;
}

// Shapes come from files (safetensors headers) as well as from code, so each is checked before its
// strides are computed: no negative size, and the non-zero sizes times the largest element (8
// bytes) must stay below 2^63, so that no stride, element count or byte count can overflow. A zero
// makes the tensor empty but does not excuse the other sizes: the strides of [0, 2^40, 2^40] are
// products of them.
void check_shape_is_valid(const Shape& shape) {
  std::int64_t reach = 8;
  for (std::int64_t size : shape) {
    if (size < 0) fail("tensor shape ", shape_string(shape), " has a negative dimension");
    if (size > 0 && __builtin_mul_overflow(reach, size, &reach)) {
      fail("tensor shape ", shape_string(shape), " is impossibly large");
    }
  }
}

// Owned memory is 64-byte aligned (one cache line, and enough for any SIMD load). Running out of
// memory is an Error that says how much was asked for and what for.
std::shared_ptr<void> allocate_zeroed(std::size_t bytes, const Shape& shape, DType dtype) {
  constexpr std::align_val_t kAlignment{64};
  // The nothrow form: under AddressSanitizer the throwing one aborts instead of throwing.
  void* memory = ::operator new(std::max<std::size_t>(bytes, 1), kAlignment, std::nothrow);
  if (memory == nullptr) {
    fail("out of memory: a ", dtype_name(dtype), " tensor of shape ", shape_string(shape),
         " needs ", bytes, " bytes (", static_cast<double>(bytes) / 1e9, " GB)");
  }
  std::memset(memory, 0, bytes);
  return std::shared_ptr<void>(memory, [](void* p) { ::operator delete(p, kAlignment); });
}

float load_as_float(const std::byte* element, DType dtype) {
  switch (dtype) {
    case DType::F32: {
      float value;
      std::memcpy(&value, element, sizeof value);
      return value;
    }
    case DType::BF16: {
      bfloat16 value;
      std::memcpy(&value, element, sizeof value);
      return bfloat16_to_float(value);
    }
    case DType::F16: {
      float16 value;
      std::memcpy(&value, element, sizeof value);
      return float16_to_float(value);
    }
    case DType::I32: {
      std::int32_t value;
      std::memcpy(&value, element, sizeof value);
      return static_cast<float>(value);
    }
    default:
      fail("reading a ", dtype_name(dtype), " element as a number is not supported");
  }
}

void store_from_float(std::byte* element, DType dtype, float value) {
  switch (dtype) {
    case DType::F32:
      std::memcpy(element, &value, sizeof value);
      return;
    case DType::BF16: {
      const bfloat16 rounded = float_to_bfloat16(value);
      std::memcpy(element, &rounded, sizeof rounded);
      return;
    }
    case DType::F16: {
      const float16 rounded = float_to_float16(value);
      std::memcpy(element, &rounded, sizeof rounded);
      return;
    }
    case DType::I32: {
      // Casting NaN or a float outside the int32 range is undefined behaviour.
      if (!(value >= -2147483648.0f && value < 2147483648.0f))
        fail("the value ", value, " does not fit an I32 element");
      const auto integer = static_cast<std::int32_t>(value);
      std::memcpy(element, &integer, sizeof integer);
      return;
    }
    default:
      fail("writing a ", dtype_name(dtype), " element is not supported");
  }
}

// Where element `offset` (counted in elements from data) starts, in bytes. For a block-quantized
// tensor the offset must fall on a block boundary: a view cannot start inside a block.
std::int64_t byte_offset(std::int64_t offset, DType dtype) {
  return static_cast<std::int64_t>(dtype_bytes(dtype, offset));
}

// Element `offset` of the tensor starting at `data`, as a float. A block-quantized element is
// decoded from its block.
float element_at(const std::byte* data, std::int64_t offset, DType dtype) {
  if (is_block_quantized(dtype)) {
    const std::int64_t block = offset / kQuantBlock;
    return dequantize_element(data + byte_offset(block * kQuantBlock, dtype), dtype,
                              static_cast<int>(offset % kQuantBlock));
  }
  return load_as_float(data + byte_offset(offset, dtype), dtype);
}

// n consecutive elements starting at `row` -> n floats (one switch per row, not per element).
void read_row_as_float(const std::byte* row, std::int64_t n, DType dtype, float* out) {
  if (is_block_quantized(dtype)) return dequantize_row(row, n, dtype, out);
  const std::int64_t size = static_cast<std::int64_t>(dtype_size(dtype));
  if (dtype == DType::BF16) {
    const auto* values = reinterpret_cast<const bfloat16*>(row);
    for (std::int64_t i = 0; i < n; ++i) out[i] = bfloat16_to_float(values[i]);
    return;
  }
  for (std::int64_t i = 0; i < n; ++i) out[i] = load_as_float(row + i * size, dtype);
}

// A block-quantized tensor's rows (its last dimension) must be whole blocks.
void check_block_rows(const Shape& shape, DType dtype) {
  if (!is_block_quantized(dtype)) return;
  if (shape.empty() || shape.back() % kQuantBlock != 0) {
    fail("a ", dtype_name(dtype), " tensor's rows must be whole ", kQuantBlock,
         "-element blocks; shape ", shape_string(shape), " has rows of ",
         shape.empty() ? 0 : shape.back());
  }
}

}  // namespace

std::size_t Tensor::nbytes() const {
  return dtype_bytes(dtype_, numel());
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  check_shape_is_valid(shape);
  check_block_rows(shape, dtype);
  Tensor tensor;
  tensor.dtype_ = dtype;
  tensor.shape_ = shape;
  tensor.strides_ = contiguous_strides(shape);
  auto memory = allocate_zeroed(dtype_bytes(dtype, element_count(shape)), shape, dtype);
  tensor.data_ = static_cast<std::byte*>(memory.get());
  tensor.owner_ = std::move(memory);
  tensor.writable_ = true;
  tensor.defined_ = true;
  return tensor;
}

Tensor Tensor::from_values(const Shape& shape, const std::vector<float>& values) {
  Tensor tensor = zeros(shape, DType::F32);
  if (static_cast<std::int64_t>(values.size()) != tensor.numel()) {
    fail("from_values: ", values.size(), " values do not fill shape ", shape_string(shape));
  }
  std::copy(values.begin(), values.end(), tensor.mutable_data<float>());
  return tensor;
}

Tensor Tensor::view(const void* data, const Shape& shape, DType dtype,
                    std::shared_ptr<const void> owner) {
  check_shape_is_valid(shape);
  check_block_rows(shape, dtype);
  Tensor tensor;
  tensor.dtype_ = dtype;
  tensor.shape_ = shape;
  tensor.strides_ = contiguous_strides(shape);
  // The pointer is stored without const; writable_ = false keeps every write path closed.
  tensor.data_ = static_cast<std::byte*>(const_cast<void*>(data));
  tensor.owner_ = std::move(owner);
  tensor.writable_ = false;
  tensor.defined_ = true;
  return tensor;
}

Tensor Tensor::view(void* data, const Shape& shape, DType dtype, std::shared_ptr<void> owner) {
  Tensor tensor = view(static_cast<const void*>(data), shape, dtype, std::move(owner));
  tensor.writable_ = true;
  return tensor;
}

std::int64_t Tensor::dim(int axis) const {
  const int resolved = axis < 0 ? axis + rank() : axis;
  if (resolved < 0 || resolved >= rank()) {
    fail("dimension ", axis, " does not exist in a tensor of shape ", shape_string(shape_));
  }
  return shape_[static_cast<std::size_t>(resolved)];
}

std::int64_t Tensor::numel() const {
  return element_count(shape_);
}

bool Tensor::is_contiguous() const {
  const Shape expected = contiguous_strides(shape_);
  for (std::size_t axis = 0; axis < shape_.size(); ++axis) {
    if (shape_[axis] != 1 && strides_[axis] != expected[axis]) return false;
  }
  return true;
}

void Tensor::check_dtype(DType wanted) const {
  if (!defined_) fail("using an empty tensor (it was never assigned)");
  if (dtype_ != wanted) {
    fail("tensor of shape ", shape_string(shape_), " holds ", dtype_name(dtype_), ", not ",
         dtype_name(wanted));
  }
}

void Tensor::check_writable() const {
  if (!writable_) {
    fail("tensor of shape ", shape_string(shape_),
         " is a read-only view (for example of a checkpoint); copy it with clone() to modify it");
  }
}

// [excerpt offset_of]
std::int64_t Tensor::offset_of(std::initializer_list<std::int64_t> index) const {
  if (static_cast<int>(index.size()) != rank()) {
    fail("index with ", index.size(), " coordinates for a tensor of rank ", rank());
  }
  std::int64_t offset = 0;
  std::size_t axis = 0;
  for (std::int64_t coordinate : index) {
    if (coordinate < 0 || coordinate >= shape_[axis]) {
      fail("index ", coordinate, " is out of range for dimension ", axis, " of shape ",
           shape_string(shape_));
    }
    offset += coordinate * strides_[axis];
    ++axis;
  }
  return offset;
}
// [end excerpt]

float Tensor::at(std::initializer_list<std::int64_t> index) const {
  return element_at(data_, offset_of(index), dtype_);
}

void Tensor::set(std::initializer_list<std::int64_t> index, float value) {
  check_writable();
  if (is_block_quantized(dtype_)) {
    fail("set(): a ", dtype_name(dtype_),
         " element cannot be written alone (its block shares one scale)");
  }
  const std::int64_t offset = offset_of(index);
  store_from_float(data_ + byte_offset(offset, dtype_), dtype_, value);
}

float Tensor::flat(std::int64_t position) const {
  if (position < 0 || position >= numel()) {
    fail("flat position ", position, " is out of range for shape ", shape_string(shape_));
  }
  // Peel off coordinates from the last dimension to the first.
  std::int64_t offset = 0;
  for (std::size_t axis = shape_.size(); axis-- > 0;) {
    offset += (position % shape_[axis]) * strides_[axis];
    position /= shape_[axis];
  }
  return element_at(data_, offset, dtype_);
}

Tensor Tensor::select(std::int64_t index) const {
  if (rank() == 0) fail("select() on a scalar tensor");
  if (index < 0 || index >= shape_[0]) {
    fail("select(", index, ") is out of range for shape ", shape_string(shape_));
  }
  Tensor view = *this;
  view.data_ += byte_offset(index * strides_[0], dtype_);
  view.shape_.erase(view.shape_.begin());
  view.strides_.erase(view.strides_.begin());
  return view;
}

Tensor Tensor::slice(int axis, std::int64_t begin, std::int64_t end) const {
  const int resolved = axis < 0 ? axis + rank() : axis;
  const std::int64_t size = dim(resolved);
  if (begin < 0 || end < begin || end > size) {
    fail("slice [", begin, ", ", end, ") of dimension ", resolved, " is out of range for shape ",
         shape_string(shape_));
  }
  Tensor view = *this;
  const auto a = static_cast<std::size_t>(resolved);
  view.data_ += byte_offset(begin * strides_[a], dtype_);
  view.shape_[a] = end - begin;
  check_block_rows(view.shape_, dtype_);
  return view;
}

Tensor Tensor::transpose(int axis_a, int axis_b) const {
  const int a = axis_a < 0 ? axis_a + rank() : axis_a;
  const int b = axis_b < 0 ? axis_b + rank() : axis_b;
  dim(a);  // range checks
  dim(b);
  Tensor view = *this;
  std::swap(view.shape_[static_cast<std::size_t>(a)], view.shape_[static_cast<std::size_t>(b)]);
  std::swap(view.strides_[static_cast<std::size_t>(a)], view.strides_[static_cast<std::size_t>(b)]);
  return view;
}

Tensor Tensor::reshape(const Shape& shape) const {
  check_shape_is_valid(shape);
  if (element_count(shape) != numel()) {
    fail("cannot reshape ", shape_string(shape_), " (", numel(), " elements) to ",
         shape_string(shape));
  }
  if (!is_contiguous()) {
    fail("reshape of a non-contiguous tensor of shape ", shape_string(shape_),
         "; make a contiguous copy with clone() first");
  }
  Tensor view = *this;
  view.shape_ = shape;
  view.strides_ = contiguous_strides(shape);
  return view;
}

Tensor Tensor::to(DType dtype) const {
  if (!defined_) fail("converting an empty tensor");
  Tensor result = zeros(shape_, dtype);
  const std::int64_t count = numel();
  if (dtype == dtype_ && is_contiguous()) {
    std::memcpy(result.data_, data_, nbytes());
    return result;
  }
  if (is_block_quantized(dtype) || is_block_quantized(dtype_) || is_contiguous()) {
    // One row (the last dimension) at a time, through f32: quantized or dequantized where either
    // side is a block type, converted element by element otherwise. The rows are split across
    // threads (quantizing Scout is 100 billion weights). An error cannot leave an OpenMP
    // loop as an exception, so the one of the lowest row is kept and thrown after it.
    const std::int64_t row = shape_.empty() ? 1 : shape_.back();
    const std::int64_t rows = row > 0 ? count / row : 0;
    std::string first_error;
    std::int64_t error_row = rows;
#pragma omp parallel if (count > (1 << 16))
    {
      std::vector<float> values(static_cast<std::size_t>(row));
#pragma omp for schedule(static)
      for (std::int64_t r = 0; r < rows; ++r) {
        try {
          std::byte* destination = result.data_ + byte_offset(r * row, dtype);
          if (is_contiguous()) {
            read_row_as_float(data_ + byte_offset(r * row, dtype_), row, dtype_, values.data());
          } else {
            for (std::int64_t i = 0; i < row; ++i)
              values[static_cast<std::size_t>(i)] = flat(r * row + i);
          }
          if (is_block_quantized(dtype)) {
            try {
              quantize_row(values.data(), row, dtype, destination);
            } catch (const Error& error) {
              fail("row ", r, " of a ", shape_string(shape_), " tensor: ", error.what());
            }
          } else if (dtype == DType::F32) {
            std::memcpy(destination, values.data(), values.size() * sizeof(float));
          } else {
            const auto size = static_cast<std::int64_t>(dtype_size(dtype));
            for (std::int64_t i = 0; i < row; ++i)
              store_from_float(destination + i * size, dtype, values[static_cast<std::size_t>(i)]);
          }
        } catch (const Error& error) {
#pragma omp critical
          if (r < error_row) {
            error_row = r;
            first_error = error.what();
          }
        }
      }
    }
    if (!first_error.empty()) fail(first_error);
    return result;
  }
  const auto element_size = static_cast<std::int64_t>(dtype_size(dtype));
  for (std::int64_t i = 0; i < count; ++i) {
    store_from_float(result.data_ + i * element_size, dtype, flat(i));
  }
  return result;
}

std::string shape_string(const Shape& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

std::string describe(const Tensor& tensor, std::string_view name, int values) {
  std::ostringstream line;
  if (!name.empty()) line << name << "  ";
  if (!tensor.defined()) return line.str() + "(empty)";
  line << dtype_name(tensor.dtype()) << " " << shape_string(tensor.shape());
  if (!is_floating_point(tensor.dtype()) && tensor.dtype() != DType::I32) return line.str();
  line << "  [";
  const std::int64_t shown = std::min<std::int64_t>(values, tensor.numel());
  line.precision(4);
  for (std::int64_t i = 0; i < shown; ++i) {
    if (i > 0) line << ", ";
    line << tensor.flat(i);
  }
  if (shown < tensor.numel()) line << ", ...";
  line << "]";
  return line.str();
}

std::ostream& operator<<(std::ostream& out, const Tensor& tensor) {
  return out << describe(tensor);
}

[[gnu::used]] const char* gdb_describe(const Tensor& tensor, const char* name, int values) {
  thread_local std::string text;
  text = describe(tensor, name == nullptr ? "" : name, values);
  return text.c_str();
}

void expect_shape(const Tensor& tensor, const Shape& expected, std::string_view what) {
  if (!tensor.defined()) fail(what, " is an empty tensor; expected shape ", shape_string(expected));
  if (tensor.shape() != expected) {
    fail(what, " has shape ", shape_string(tensor.shape()), ", expected ", shape_string(expected));
  }
}

}  // namespace llama4
