#include "common/tensors/gemm.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace llama4 {
namespace {

// One vector register of floats: 16 with AVX-512, 8 elsewhere (AVX2's ymm, or two NEON
// registers); see matmul.cpp for why the vectors are spelled out. The register tile holds
// kTileRows x 2 vectors of C, sized to the register file: 8 x 2 = 16 accumulators of AVX-512's 32
// registers, 6 x 2 = 12 of AVX2's 16 (plus two B vectors and a broadcast of A). Give AVX2 the
// 8-row tile and the compiler runs out of registers: every multiply-add then loads and stores its
// accumulator on the stack, and training ran 30 times slower on an AVX2 machine.
#if defined(__AVX512F__)
constexpr std::int64_t kLanes = 16;
constexpr std::int64_t kTileRows = 8;
#else
constexpr std::int64_t kLanes = 8;
constexpr std::int64_t kTileRows = 6;
#endif
using FloatVector = float __attribute__((vector_size(kLanes * sizeof(float))));
constexpr std::int64_t kTileColumns = 2 * kLanes;
// Cache blocking: kDepth steps of k at a time (a B panel of 256 x 32 floats is 32 KiB: L1), and
// at most kBlockColumns columns of B packed at once (1 MiB: L2).
constexpr std::int64_t kDepth = 256;
constexpr std::int64_t kBlockColumns = 1024;
// Below this many multiply-adds, one thread: waking the others costs more than the work.
constexpr std::int64_t kParallelWork = 1 << 18;

inline FloatVector load(const float* source) {
  FloatVector v;
  std::memcpy(&v, source, sizeof v);
  return v;
}

// op(a)[i, p] and op(b)[p, j], whatever the storage.
inline float element_a(const float* a, Transpose t, std::int64_t m, std::int64_t k, std::int64_t i,
                       std::int64_t p) {
  return t == Transpose::no ? a[i * k + p] : a[p * m + i];
}
inline float element_b(const float* b, Transpose t, std::int64_t n, std::int64_t k, std::int64_t p,
                       std::int64_t j) {
  return t == Transpose::no ? b[p * n + j] : b[j * k + p];
}

// Packs op(a)[i0 .. i0+kTileRows, p0 .. p0+depth] as [depth][kTileRows] (rows past m are zeros):
// the micro-kernel then reads the kTileRows values it needs for step p from one place.
void pack_a_panel(const float* a, Transpose t, std::int64_t m, std::int64_t k, std::int64_t i0,
                  std::int64_t p0, std::int64_t depth, float* panel) {
  const std::int64_t rows = std::min(kTileRows, m - i0);
  for (std::int64_t p = 0; p < depth; ++p) {
    for (std::int64_t r = 0; r < kTileRows; ++r) {
      panel[p * kTileRows + r] = r < rows ? element_a(a, t, m, k, i0 + r, p0 + p) : 0.0f;
    }
  }
}

// Packs op(b)[p0 .. p0+depth, j0 .. j0+kTileColumns] as [depth][kTileColumns] (columns past n
// are zeros).
void pack_b_panel(const float* b, Transpose t, std::int64_t n, std::int64_t k, std::int64_t p0,
                  std::int64_t depth, std::int64_t j0, float* panel) {
  const std::int64_t columns = std::min(kTileColumns, n - j0);
  for (std::int64_t p = 0; p < depth; ++p) {
    float* row = panel + p * kTileColumns;
    if (t == Transpose::no && columns == kTileColumns) {
      std::memcpy(row, b + (p0 + p) * n + j0, sizeof(float) * kTileColumns);
      continue;
    }
    for (std::int64_t c = 0; c < kTileColumns; ++c) {
      row[c] = c < columns ? element_b(b, t, n, k, p0 + p, j0 + c) : 0.0f;
    }
  }
}

// The micro-kernel: an 8 x 32 tile of C (6 x 16 on AVX2) from one A panel [depth][kTileRows] and
// one B panel [depth][kTileColumns]. Every step p is 2 vector loads of B, kTileRows broadcasts of
// A and 2 x kTileRows independent multiply-adds: enough in flight to keep both FMA units busy.
// Only the first `rows` x `columns` of the tile are written (the edges of C).
void micro_kernel(std::int64_t depth, const float* a_panel, const float* b_panel, float* c,
                  std::int64_t ldc, bool add, std::int64_t rows, std::int64_t columns) {
  FloatVector sum[kTileRows][2] = {};
  for (std::int64_t p = 0; p < depth; ++p) {
    const FloatVector b0 = load(b_panel + p * kTileColumns);
    const FloatVector b1 = load(b_panel + p * kTileColumns + kLanes);
#pragma GCC unroll kTileRows
    for (std::int64_t r = 0; r < kTileRows; ++r) {
      const float a_value = a_panel[p * kTileRows + r];
      sum[r][0] += a_value * b0;
      sum[r][1] += a_value * b1;
    }
  }
  if (rows == kTileRows && columns == kTileColumns) {
    for (std::int64_t r = 0; r < kTileRows; ++r) {
      float* row = c + r * ldc;
      if (add) {
        sum[r][0] += load(row);
        sum[r][1] += load(row + kLanes);
      }
      std::memcpy(row, &sum[r][0], sizeof(FloatVector));
      std::memcpy(row + kLanes, &sum[r][1], sizeof(FloatVector));
    }
    return;
  }
  float tile[kTileRows][kTileColumns];
  std::memcpy(tile, sum, sizeof tile);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t col = 0; col < columns; ++col) {
      c[r * ldc + col] = (add ? c[r * ldc + col] : 0.0f) + tile[r][col];
    }
  }
}

}  // namespace

void gemm(const float* a, Transpose transpose_a, const float* b, Transpose transpose_b, float* c,
          std::int64_t m, std::int64_t n, std::int64_t k, bool accumulate) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (!accumulate) std::fill(c, c + m * n, 0.0f);
    return;
  }
  const bool parallel = m * n * k > kParallelWork;
  const std::int64_t row_panels = (m + kTileRows - 1) / kTileRows;
  std::vector<float> packed_a(static_cast<std::size_t>(row_panels * kTileRows * kDepth));
  std::vector<float> packed_b(static_cast<std::size_t>(kBlockColumns * kDepth));

  for (std::int64_t j0 = 0; j0 < n; j0 += kBlockColumns) {
    const std::int64_t block_columns = std::min(kBlockColumns, n - j0);
    const std::int64_t column_panels = (block_columns + kTileColumns - 1) / kTileColumns;
    for (std::int64_t p0 = 0; p0 < k; p0 += kDepth) {
      const std::int64_t depth = std::min(kDepth, k - p0);
      const bool add = accumulate || p0 > 0;  // later depth blocks add onto the first
#pragma omp parallel if (parallel)
      {
#pragma omp for schedule(static)
        for (std::int64_t panel = 0; panel < column_panels; ++panel) {
          pack_b_panel(b, transpose_b, n, k, p0, depth, j0 + panel * kTileColumns,
                       packed_b.data() + panel * depth * kTileColumns);
        }
#pragma omp for schedule(static)
        for (std::int64_t panel = 0; panel < row_panels; ++panel) {
          pack_a_panel(a, transpose_a, m, k, panel * kTileRows, p0, depth,
                       packed_a.data() + panel * depth * kTileRows);
        }
        // Each thread takes whole row panels and sweeps the packed B block with each: its A
        // panel (8 KiB) stays in L1 while the B block streams from L2.
#pragma omp for schedule(static)
        for (std::int64_t panel = 0; panel < row_panels; ++panel) {
          const std::int64_t i0 = panel * kTileRows;
          const std::int64_t rows = std::min(kTileRows, m - i0);
          for (std::int64_t column_panel = 0; column_panel < column_panels; ++column_panel) {
            const std::int64_t c0 = column_panel * kTileColumns;
            micro_kernel(depth, packed_a.data() + panel * depth * kTileRows,
                         packed_b.data() + column_panel * depth * kTileColumns,
                         c + i0 * n + j0 + c0, n, add, rows,
                         std::min(kTileColumns, block_columns - c0));
          }
        }
      }
    }
  }
}

void gemm_reference(const float* a, Transpose transpose_a, const float* b, Transpose transpose_b,
                    float* c, std::int64_t m, std::int64_t n, std::int64_t k, bool accumulate) {
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      double sum = accumulate ? c[i * n + j] : 0.0;
      for (std::int64_t p = 0; p < k; ++p) {
        sum += static_cast<double>(element_a(a, transpose_a, m, k, i, p)) *
               element_b(b, transpose_b, n, k, p, j);
      }
      c[i * n + j] = static_cast<float>(sum);
    }
  }
}

}  // namespace llama4
