// Tensor: a typed, shaped view of memory.
//
// A tensor is three things:
//   - a pointer to its first element and a dtype (F32, BF16, ...),
//   - a shape, e.g. [24, 64] for 24 tokens of 64 numbers each,
//   - strides: how many ELEMENTS to step in memory to move by one along each dimension.
//
// A freshly made [rows, cols] tensor is "contiguous" (row-major): strides [cols, 1]. A view shares
// the memory of another tensor with other strides: transposing a [rows, cols] tensor gives shape
// [cols, rows] with strides [1, cols] without moving a byte, and slicing moves the start pointer.
//
// Memory is either owned (zeros() allocates it) or borrowed: view() wraps someone else's memory,
// for example the bytes of a memory-mapped checkpoint, and keeps that owner alive through a
// shared_ptr. Checkpoint views are read-only: asking for a writable pointer into them is an error.
//
// Kernels that must be fast take the data pointer and loop over it themselves; element access
// (at/set) is for tests, printing and learning.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/tensors/bfloat16.hpp"
#include "common/tensors/dtype.hpp"
#include "common/tensors/error.hpp"

namespace llama4 {

using Shape = std::vector<std::int64_t>;

// The dtype that a C++ element type stands for: data<float>() needs an F32 tensor, and so on.
template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::F32;
}
template <>
constexpr DType dtype_of<bfloat16>() {
  return DType::BF16;
}
template <>
constexpr DType dtype_of<float16>() {
  return DType::F16;
}
template <>
constexpr DType dtype_of<std::int32_t>() {
  return DType::I32;
}
template <>
constexpr DType dtype_of<std::int64_t>() {
  return DType::I64;
}

class Tensor {
 public:
  Tensor() = default;  // no tensor at all: defined() is false

  // A new contiguous tensor filled with zeros.
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32);
  // A new contiguous F32 tensor holding `values` (row-major; the count must match the shape).
  static Tensor from_values(const Shape& shape, const std::vector<float>& values);
  // Views of memory owned by `owner`. The const overload gives a read-only tensor.
  static Tensor view(const void* data, const Shape& shape, DType dtype,
                     std::shared_ptr<const void> owner);
  static Tensor view(void* data, const Shape& shape, DType dtype, std::shared_ptr<void> owner);

  bool defined() const { return defined_; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  // Size of one dimension; negative axes count from the end (dim(-1) is the last).
  std::int64_t dim(int axis) const;
  std::int64_t numel() const;
  // Bytes the elements take (for a block-quantized tensor: its blocks').
  std::size_t nbytes() const;
  bool is_contiguous() const;
  bool is_writable() const { return writable_; }
  // What keeps this tensor's memory alive (a mapped file, an allocation). Chapter 12's repacked
  // copies of weights hold on to it, so the memory they were made from cannot be reused under them.
  const std::shared_ptr<const void>& owner() const { return owner_; }

  // Typed pointers to the first element; the dtype must match T (see dtype_of). Reading and writing
  // are spelled differently on purpose: data<T>() is always read-only (so reading a checkpoint view
  // just works), mutable_data<T>() is for writing and refuses read-only views.
  template <class T>
  const T* data() const {
    check_dtype(dtype_of<T>());
    return reinterpret_cast<const T*>(data_);
  }
  template <class T>
  T* mutable_data() {
    check_dtype(dtype_of<T>());
    check_writable();
    return reinterpret_cast<T*>(data_);
  }
  const std::byte* raw_data() const { return data_; }
  std::byte* mutable_raw_data() {
    check_writable();
    return data_;
  }

  // One element, converted to float, by index: t.at({row, col}).
  float at(std::initializer_list<std::int64_t> index) const;
  void set(std::initializer_list<std::int64_t> index, float value);
  // The element at a flat row-major position (0 .. numel-1), following the strides.
  float flat(std::int64_t position) const;

  // Views (no copy). select(i) drops the first dimension: row i of a matrix.
  Tensor select(std::int64_t index) const;
  Tensor slice(int axis, std::int64_t begin, std::int64_t end) const;
  Tensor transpose(int axis_a, int axis_b) const;
  Tensor reshape(const Shape& shape) const;  // needs a contiguous tensor

  // Copies into new contiguous memory, converting to `dtype` (float types and I32). To or from a
  // block-quantized type it quantizes or dequantizes each row (the last dimension).
  Tensor to(DType dtype) const;
  Tensor clone() const { return to(dtype_); }

 private:
  void check_dtype(DType wanted) const;
  void check_writable() const;
  std::int64_t offset_of(std::initializer_list<std::int64_t> index) const;

  DType dtype_ = DType::F32;
  Shape shape_;
  Shape strides_;
  std::byte* data_ = nullptr;
  std::shared_ptr<const void> owner_;
  bool writable_ = false;
  bool defined_ = false;
};

// "[24, 64]"
std::string shape_string(const Shape& shape);

// One line for a learner: dtype, shape and the first few values.
//   q  F32 [24, 4, 16]  [0.4121, -1.203, 0.0087, 0.9931, -0.5514, 0.1202, ...]
std::string describe(const Tensor& tensor, std::string_view name = {}, int values = 6);
std::ostream& operator<<(std::ostream& out, const Tensor& tensor);

// describe() for a debugger. gdb cannot call describe() itself: it cannot turn "q" into a
// std::string_view ("Invalid cast"), nor fill in default arguments. This one takes only what gdb
// can pass and returns a C string, so at a breakpoint in the debug build:
//
//   (gdb) print llama4::gdb_describe(q, "q", 6)
//   $1 = 0x... "q  F32 [24, 64]  [0.4121, -1.203, 0.0087, 0.9931, -0.5514, 0.1202, ...]"
//
// The text lives until the next call on the same thread. No program calls it, so it is marked
// used: the compiler must keep it (tests/debugging/gdb_describe.sh calls it from gdb).
[[gnu::used]] const char* gdb_describe(const Tensor& tensor, const char* name, int values);

// Throws an Error naming `what` unless tensor.shape() == expected. Kernels call it on entry.
void expect_shape(const Tensor& tensor, const Shape& expected, std::string_view what);

}  // namespace llama4
