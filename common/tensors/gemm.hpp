// gemm: the general matrix product, C = op(A) · op(B), with either operand transposed.
//
// Inference multiplies activations by weights in two fixed layouts (matmul.hpp). Training needs
// every orientation, because the backward pass of y = x · Wᵀ is two more products:
//
//   forward     y[N, out]  = x[N, in]  · W[out, in]ᵀ        gemm(x, no,  W, yes)
//   input grad  dx[N, in]  = dy[N, out] · W[out, in]         gemm(dy, no, W, no)
//   weight grad dW[out, in] = dy[N, out]ᵀ · x[N, in]          gemm(dy, yes, x, no)
//
// so one function takes a flag per operand saying whether it is stored transposed.
//
// How it is fast (the "BLIS" recipe, see gemm.cpp): C is computed in tiles of 8 rows x 32
// columns (6 x 16 on a CPU without AVX-512) that stay in vector registers while the whole inner
// dimension streams through them. To make that stream contiguous whatever the layout, A and B are
// first copied ("packed") into panels: 8 rows of A interleaved column by column, 32 columns of B
// row by row. Packing costs one pass over A and B; the product then reads them K·N/32 and K·M/8
// times from cache.
#pragma once

#include <cstdint>

namespace llama4 {

enum class Transpose { no, yes };

// c[m, n] = Σ_k op(a)[m, k] · op(b)[k, n]  (+ c[m, n] when accumulate is true).
//   op(a) is [m, k]: a is stored [m, k] row-major (Transpose::no) or [k, m] (Transpose::yes).
//   op(b) is [k, n]: b is stored [k, n] row-major (Transpose::no) or [n, k] (Transpose::yes).
//   c is [m, n] row-major. All f32; every size may be 0; threads: OpenMP.
void gemm(const float* a, Transpose transpose_a, const float* b, Transpose transpose_b, float* c,
          std::int64_t m, std::int64_t n, std::int64_t k, bool accumulate = false);

// The same, one multiply-add at a time in the obvious triple loop: the reference the tests and
// benchmarks check gemm against.
void gemm_reference(const float* a, Transpose transpose_a, const float* b, Transpose transpose_b,
                    float* c, std::int64_t m, std::int64_t n, std::int64_t k,
                    bool accumulate = false);

}  // namespace llama4
