#include "common/tensors/matmul.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/quantization/quantized_matmul.hpp"
#include "common/tensors/bfloat16_dot.hpp"
#include "common/tensors/error.hpp"
#include "common/tensors/parallel_rows.hpp"

namespace llama4 {
namespace {

// Both operands must be plain row-major matrices with matching inner sizes; say which one is not.
void check_operands(const Tensor& x, const Tensor& weight, const Tensor& y, std::int64_t in,
                    std::int64_t out, const char* function) {
  if (x.rank() != 2 || weight.rank() != 2) {
    fail(function, ": x ", shape_string(x.shape()), " and weight ", shape_string(weight.shape()),
         " must both be matrices");
  }
  if (x.dtype() != DType::F32) fail(function, ": x must be F32, got ", dtype_name(x.dtype()));
  if (!is_floating_point(weight.dtype())) {
    fail(function, ": weight dtype ", dtype_name(weight.dtype()), " is not supported");
  }
  if (!x.is_contiguous() || !weight.is_contiguous()) {
    fail(function, ": operands must be contiguous (x ", shape_string(x.shape()), ", weight ",
         shape_string(weight.shape()), ")");
  }
  if (x.dim(1) != in) {
    fail(function, ": x ", shape_string(x.shape()), " does not fit weight ",
         shape_string(weight.shape()));
  }
  expect_shape(y, {x.dim(0), out}, std::string(function) + " output");
  if (!y.is_contiguous() || y.dtype() != DType::F32)
    fail(function, ": output must be contiguous F32");
}

// Below this many multiply-adds a product runs on one thread: waking the other threads costs more
// than the work (and a thread that spins while the machine is busy can cost milliseconds).
constexpr std::int64_t kParallelWork = 1 << 16;

// FloatVector is one vector register of floats: 16 with AVX-512, 8 elsewhere (AVX2's ymm, or two
// NEON registers). We spell the vectors out (a GCC/Clang extension) because what matters in these
// kernels is how many independent sums are in flight and what stays in registers, and the
// auto-vectoriser decided both badly: it kept accumulators in memory and added into a single
// register, so every multiply-add waited for the one before it.
//
// The prefill kernels below keep a tile of y in registers: 4 rows of x times kTileWidth weight
// rows (or weight vectors), plus the kTileWidth weight vectors and one of x. AVX-512 has 32
// registers: a 4 x 4 tile takes 21. AVX2 has 16: a 4 x 4 tile would need 21, the compiler would
// keep the rest on the stack and every multiply-add would load and store one, so AVX2 gets 4 x 3
// (16 registers).
#if defined(__AVX512F__)
constexpr std::int64_t kVectorLanes = 16;
constexpr int kTileWidth = 4;
#else
constexpr std::int64_t kVectorLanes = 8;
constexpr int kTileWidth = 3;
#endif
constexpr int kTileRows = 4;                 // rows of x in a prefill tile
constexpr int kDotSums = 64 / kVectorLanes;  // independent sums in a dot product
using FloatVector = float __attribute__((vector_size(kVectorLanes * sizeof(float))));
using Bits32Vector = std::uint32_t __attribute__((vector_size(kVectorLanes * 4)));
using Bits16Vector = std::uint16_t __attribute__((vector_size(kVectorLanes * 2)));

inline FloatVector load_vector(const float* source) {
  FloatVector v;
  std::memcpy(&v, source, sizeof v);
  return v;
}
inline FloatVector load_vector(const bfloat16* source) {  // bf16 -> f32: zero-extend, shift up
  Bits16Vector narrow;
  std::memcpy(&narrow, source, sizeof narrow);
  return reinterpret_cast<FloatVector>(__builtin_convertvector(narrow, Bits32Vector) << 16);
}
inline FloatVector load_vector(const float16* source) {  // no vector shortcut for f16: one by one
  FloatVector v;
  for (int l = 0; l < kVectorLanes; ++l) v[l] = float16_to_float(source[l]);
  return v;
}

// The sum of a vector's lanes: add the upper half of the lanes to the lower half until one lane
// is left, 4 dependent adds for 16 lanes where a loop over the lanes makes 15. It counts where the
// vectors are short: attention's q · k is 128 floats, and the loop cost as much as the
// multiply-adds.
inline float sum_lanes(FloatVector v) {
  using EightLanes = float __attribute__((vector_size(32)));
  using FourLanes = float __attribute__((vector_size(16)));
#if defined(__AVX512F__)
  const EightLanes eight = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                           __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
#else
  const EightLanes eight = v;  // kVectorLanes is 8 without AVX-512
#endif
  const FourLanes four = __builtin_shufflevector(eight, eight, 0, 1, 2, 3) +
                         __builtin_shufflevector(eight, eight, 4, 5, 6, 7);
  return (four[0] + four[2]) + (four[1] + four[3]);
}

// [excerpt dot]
// One dot product, x[i] * w[i] summed in f32: the whole of decode's work. kDotSums independent
// accumulators, 64 floats a step (4 AVX-512 registers, 8 AVX2 ones), because one would make each
// multiply-add wait for the previous (about 4 cycles per vector of weights: slower than memory
// delivers them).
template <class Weight>
inline float dot(const float* x, const Weight* w, std::int64_t n) {
  FloatVector sums[kDotSums] = {};
  std::int64_t i = 0;
  for (; i + kDotSums * kVectorLanes <= n; i += kDotSums * kVectorLanes) {
    for (int k = 0; k < kDotSums; ++k) {
      sums[k] += load_vector(x + i + k * kVectorLanes) * load_vector(w + i + k * kVectorLanes);
    }
  }
  for (; i + kVectorLanes <= n; i += kVectorLanes)
    sums[0] += load_vector(x + i) * load_vector(w + i);
  for (int k = 1; k < kDotSums; ++k) sums[0] += sums[k];
  float sum = sum_lanes(sums[0]);
  for (; i < n; ++i) sum += x[i] * to_float(w[i]);  // the last n % kVectorLanes
  return sum;
}
// [end excerpt]

// Prefill needs a different kernel. The dot product above loads one x value and one weight for
// every multiply-add, so loads, not arithmetic, set its pace: fine for decode, where every weight
// is used once anyway, but prefill has many rows of x to reuse each weight for. So prefill computes
// a 4 x kTileWidth tile of y at a time (4 x 4 with AVX-512, 4 x 3 with AVX2): each vector-wide
// slice of x and of W is loaded once and used in several multiply-adds.
//
// y[r0..r0+3, o0..o0+kTileWidth-1] = x[r0..r0+3, :] · W[o0..o0+kTileWidth-1, :]ᵀ
template <class Weight>
void linear_tile(const float* x, const Weight* weight, float* y, std::int64_t in, std::int64_t out,
                 std::int64_t r0, std::int64_t o0) {
  FloatVector accumulator[kTileRows][kTileWidth] = {};
  std::int64_t i = 0;
  for (; i + kVectorLanes <= in; i += kVectorLanes) {
    FloatVector w[kTileWidth];
    for (int b = 0; b < kTileWidth; ++b) w[b] = load_vector(weight + (o0 + b) * in + i);
    for (int a = 0; a < kTileRows; ++a) {
      const FloatVector x_slice = load_vector(x + (r0 + a) * in + i);
      for (int b = 0; b < kTileWidth; ++b) accumulator[a][b] += x_slice * w[b];
    }
  }
  for (int a = 0; a < kTileRows; ++a) {
    for (int b = 0; b < kTileWidth; ++b) {
      float sum = sum_lanes(accumulator[a][b]);
      for (std::int64_t tail = i; tail < in; ++tail) {  // the last in % kVectorLanes elements
        sum += x[(r0 + a) * in + tail] * to_float(weight[(o0 + b) * in + tail]);
      }
      y[(r0 + a) * out + o0 + b] = sum;
    }
  }
}

// The kTileWidth weight rows from o on (fewer at the end) times every row of x: whole tiles where
// there are four rows of x (prefill) through linear_tile, dot products for the rest.
template <class Weight>
void tile_width_rows_times_x(const float* x, const Weight* weight, float* y, std::int64_t rows,
                             std::int64_t in, std::int64_t out, std::int64_t o) {
  const std::int64_t tiled_rows = rows / kTileRows * kTileRows;  // 0 for decode
  const std::int64_t o_end = std::min<std::int64_t>(o + kTileWidth, out);
  const bool full_tile = o_end - o == kTileWidth;
  if (full_tile) {
    for (std::int64_t r = 0; r < tiled_rows; r += kTileRows)
      linear_tile(x, weight, y, in, out, r, o);
  }
  for (std::int64_t oo = o; oo < o_end; ++oo) {
    for (std::int64_t r = full_tile ? tiled_rows : 0; r < rows; ++r)
      y[r * out + oo] = dot<Weight>(x + r * in, weight + oo * in, in);
  }
}

// y[r, o] = dot(x[r, :], W[o, :]). Threads share the output features (parallel_rows.hpp), so each
// weight row is read from memory once and reused for every row of x while it sits in cache.
template <class Weight>
void linear_kernel(const float* x, const Weight* weight, float* y, std::int64_t rows,
                   std::int64_t in, std::int64_t out) {
  const std::int64_t units = (out + kTileWidth - 1) / kTileWidth;
  const std::int64_t unit_bytes = kTileWidth * in * static_cast<std::int64_t>(sizeof(Weight));
  parallel_rows(units, rows_per_chunk(unit_bytes), rows * in * out > kParallelWork,
                [&](std::int64_t first, std::int64_t last) {
                  for (std::int64_t unit = first; unit < last; ++unit)
                    tile_width_rows_times_x(x, weight, y, rows, in, out, unit * kTileWidth);
                });
}

// The input-major product: y[r0..r0+R-1, c0..c0+16V-1] += x[r0.., i0:i1] · W[i0:i1, c0..c0+16V-1]
// (set, not added, when i0 is 0). Row i of W is contiguous, so the kernel walks down W one row at
// a time, loading V vectors of it and adding x[r, i] times them into R x V accumulators kept in
// registers. Prefill uses 4 x kTileWidth tiles (4 rows, 4 or 3 vectors of columns): each weight
// vector is loaded once and used four times.
template <int R, int V, class Weight>
void matmul_tile(const float* x, const Weight* weight, float* y, std::int64_t in, std::int64_t out,
                 std::int64_t r0, std::int64_t c0, std::int64_t i0, std::int64_t i1) {
  FloatVector accumulator[R][V] = {};
  if (i0 > 0) {
    for (int a = 0; a < R; ++a)
      for (int v = 0; v < V; ++v)
        accumulator[a][v] = load_vector(y + (r0 + a) * out + c0 + v * kVectorLanes);
  }
  for (std::int64_t i = i0; i < i1; ++i) {
    FloatVector w[V];
    for (int v = 0; v < V; ++v) w[v] = load_vector(weight + i * out + c0 + v * kVectorLanes);
    for (int a = 0; a < R; ++a) {
      const float x_value = x[(r0 + a) * in + i];
      for (int v = 0; v < V; ++v) accumulator[a][v] += x_value * w[v];
    }
  }
  for (int a = 0; a < R; ++a) {
    for (int v = 0; v < V; ++v) {
      std::memcpy(y + (r0 + a) * out + c0 + v * kVectorLanes, &accumulator[a][v],
                  sizeof(FloatVector));
    }
  }
}

// Decode (fewer than 4 rows of x): the threads split the ROWS of W, the input dimension, instead of
// its columns. Each thread then reads one contiguous slab of W from start to end, the access
// pattern memory serves fastest, adding x[r, i] · W[i, :] for its rows i into its own partial copy
// of y; the copies are summed at the end. Splitting the columns instead made every thread hop from
// row to row of W in pieces of a few hundred bytes, which ran at half the memory bandwidth.
// The slabs are fixed halves, not shared by parallel_rows like linear's rows: a stolen chunk's sums
// would land in the thief's copy, the copies' total would then depend on timing in its last bits,
// and the same tokens must give the same logits run after run (tests compare them exactly).
template <class Weight>
void matmul_decode_kernel(const float* x, const Weight* weight, float* y, std::int64_t rows,
                          std::int64_t in, std::int64_t out) {
  const int threads = rows * in * out > kParallelWork ? omp_get_max_threads() : 1;
  const std::int64_t vector_end = out / kVectorLanes * kVectorLanes;
  std::vector<float> partial(static_cast<std::size_t>(threads * rows * out),
                             0.0f);  // [threads, rows, out]
#pragma omp parallel num_threads(threads)
  {
    const std::int64_t t = omp_get_thread_num();
    const std::int64_t first = in * t / threads, last = in * (t + 1) / threads;
    for (std::int64_t r = 0; r < rows; ++r) {
      float* sums = partial.data() + (t * rows + r) * out;
      // Four rows of W per pass over the partial sums, so each sum is loaded and stored once per
      // four weight vectors (a wide W's partial row does not fit in L1).
      std::int64_t i = first;
      for (; i + 4 <= last; i += 4) {
        const float* xs = x + r * in + i;
        const Weight* w = weight + i * out;
        for (std::int64_t c = 0; c < vector_end; c += kVectorLanes) {
          FloatVector s = load_vector(sums + c);
          s += xs[0] * load_vector(w + c) + xs[1] * load_vector(w + out + c);
          s += xs[2] * load_vector(w + 2 * out + c) + xs[3] * load_vector(w + 3 * out + c);
          std::memcpy(sums + c, &s, sizeof s);
        }
        for (std::int64_t c = vector_end; c < out; ++c) {
          for (int k = 0; k < 4; ++k) sums[c] += xs[k] * to_float(w[k * out + c]);
        }
      }
      for (; i < last; ++i) {  // the last rows of this thread's slab
        const float x_value = x[r * in + i];
        const Weight* w = weight + i * out;
        for (std::int64_t c = 0; c < out; ++c) sums[c] += x_value * to_float(w[c]);
      }
    }
  }
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < out; ++c) {
      float sum = 0.0f;
      for (int t = 0; t < threads; ++t)
        sum += partial[static_cast<std::size_t>((t * rows + r) * out + c)];
      y[r * out + c] = sum;
    }
  }
}

// y[r, :] = sum_i x[r, i] * W[i, :]. Threads split the output columns into groups of kTileWidth
// vectors; each group takes W's rows kMatmulChunkRows at a time (matmul.hpp), and for each chunk
// goes through register tiles of x, 4 rows at a time, then one at a time, adding into y. Columns
// past the last whole vector (out % kVectorLanes) are summed one by one. Fewer than 4 rows: the
// decode kernel.
template <class Weight>
void matmul_kernel(const float* x, const Weight* weight, float* y, std::int64_t rows,
                   std::int64_t in, std::int64_t out) {
  if (rows < kTileRows) return matmul_decode_kernel(x, weight, y, rows, in, out);
  const std::int64_t vectors = out / kVectorLanes;
  const std::int64_t tiled_rows = rows / kTileRows * kTileRows;
  constexpr std::int64_t group_vectors = kTileWidth;
  const std::int64_t groups = (vectors + group_vectors - 1) / group_vectors;
#pragma omp parallel for schedule(static) if (rows * in * out > kParallelWork)
  for (std::int64_t group = 0; group < groups; ++group) {
    const std::int64_t first_vector = group * group_vectors;
    const std::int64_t c0 = first_vector * kVectorLanes;
    for (std::int64_t i0 = 0; i0 < in; i0 += kMatmulChunkRows) {
      const std::int64_t i1 = std::min(in, i0 + kMatmulChunkRows);
      if (vectors - first_vector < group_vectors) {  // the last, partial group: vector by vector
        for (std::int64_t v = first_vector; v < vectors; ++v) {
          for (std::int64_t r = 0; r < rows; ++r)
            matmul_tile<1, 1>(x, weight, y, in, out, r, v * kVectorLanes, i0, i1);
        }
      } else {
        for (std::int64_t r = 0; r < tiled_rows; r += kTileRows)
          matmul_tile<kTileRows, kTileWidth>(x, weight, y, in, out, r, c0, i0, i1);
        for (std::int64_t r = tiled_rows; r < rows; ++r)
          matmul_tile<1, kTileWidth>(x, weight, y, in, out, r, c0, i0, i1);
      }
    }
  }
  for (std::int64_t c = vectors * kVectorLanes; c < out; ++c) {
    for (std::int64_t r = 0; r < rows; ++r) {
      float sum = 0.0f;
      for (std::int64_t i = 0; i < in; ++i) sum += x[r * in + i] * to_float(weight[i * out + c]);
      y[r * out + c] = sum;
    }
  }
}

}  // namespace

float dot(const float* a, const float* b, std::int64_t n) {
  return dot<float>(a, b, n);
}

void linear(const Tensor& x, const Tensor& weight, Tensor& y) {
  if (weight.rank() != 2) fail("linear: weight ", shape_string(weight.shape()), " is not a matrix");
  if (is_block_quantized(weight.dtype())) return quantized_linear(x, weight, y);  // chapter 12
  const std::int64_t out = weight.dim(0);
  const std::int64_t in = weight.dim(1);
  check_operands(x, weight, y, in, out, "linear");
  const float* x_data = x.data<float>();
  float* y_data = y.mutable_data<float>();
  const std::int64_t rows = x.dim(0);
  switch (weight.dtype()) {
    case DType::BF16:  // chapter 12: vdpbf16ps where the CPU has it (bfloat16_dot.hpp)
      if (using_bf16_pairs())
        return linear_bf16_pairs(x_data, weight.data<bfloat16>(), y_data, rows, in, out);
      return linear_kernel(x_data, weight.data<bfloat16>(), y_data, rows, in, out);
    case DType::F16:
      return linear_kernel(x_data, weight.data<float16>(), y_data, rows, in, out);
    default:
      return linear_kernel(x_data, weight.data<float>(), y_data, rows, in, out);
  }
}

Tensor linear(const Tensor& x, const Tensor& weight) {
  if (x.rank() != 2 || weight.rank() != 2) {
    fail("linear: x ", shape_string(x.shape()), " and weight ", shape_string(weight.shape()),
         " must both be matrices");
  }
  Tensor y = Tensor::zeros({x.dim(0), weight.dim(0)});
  linear(x, weight, y);
  return y;
}

void matmul(const Tensor& x, const Tensor& weight, Tensor& y) {
  if (weight.rank() != 2) fail("matmul: weight ", shape_string(weight.shape()), " is not a matrix");
  const std::int64_t in = weight.dim(0);
  const std::int64_t out = weight.dim(1);
  check_operands(x, weight, y, in, out, "matmul");
  const float* x_data = x.data<float>();
  float* y_data = y.mutable_data<float>();
  const std::int64_t rows = x.dim(0);
  switch (weight.dtype()) {
    case DType::BF16:
      if (using_bf16_pairs()) {  // chapter 12 (bfloat16_dot.hpp)
        if (rows >= kTileRows)
          return matmul_bf16_pairs(x_data, weight.data<bfloat16>(), y_data, rows, in, out);
        // Decode: the same rounding of x, then the f32 kernel (the pairs lost there).
        const std::vector<float> rounded = round_to_bfloat16(x_data, rows * in);
        return matmul_kernel(rounded.data(), weight.data<bfloat16>(), y_data, rows, in, out);
      }
      return matmul_kernel(x_data, weight.data<bfloat16>(), y_data, rows, in, out);
    case DType::F16:
      return matmul_kernel(x_data, weight.data<float16>(), y_data, rows, in, out);
    default:
      return matmul_kernel(x_data, weight.data<float>(), y_data, rows, in, out);
  }
}

Tensor matmul(const Tensor& x, const Tensor& weight) {
  if (x.rank() != 2 || weight.rank() != 2) {
    fail("matmul: x ", shape_string(x.shape()), " and weight ", shape_string(weight.shape()),
         " must both be matrices");
  }
  Tensor y = Tensor::zeros({x.dim(0), weight.dim(1)});
  matmul(x, weight, y);
  return y;
}

}  // namespace llama4
