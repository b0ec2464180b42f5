#include "common/training/attention_backward.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/tensors/error.hpp"
#include "common/tensors/matmul.hpp"

namespace llama4 {
namespace {

void check_shapes(const AttentionShape& s, const Tensor& q, const Tensor& k, const Tensor& v) {
  const std::int64_t rows = s.sequences * s.tokens;
  expect_shape(q, {rows, s.heads, s.head_dim}, "attention q");
  expect_shape(k, {rows, s.kv_heads, s.head_dim}, "attention k");
  expect_shape(v, {rows, s.kv_heads, s.head_dim}, "attention v");
  if (s.kv_heads <= 0 || s.heads % s.kv_heads != 0) {
    fail("attention: ", s.heads, " query heads cannot share ", s.kv_heads, " kv heads");
  }
  if (!s.positions.empty()) {
    if (static_cast<std::int64_t>(s.positions.size()) != rows) {
      fail("attention: ", s.positions.size(), " positions for ", rows, " rows");
    }
    // Each row is either a document's first (0) or the one after the row before it.
    for (std::int64_t b = 0; b < s.sequences; ++b) {
      for (std::int64_t i = 0; i < s.tokens; ++i) {
        const std::int64_t position = document_position(s, b, i);
        const std::int64_t expected = i == 0 ? 0 : document_position(s, b, i - 1) + 1;
        if (position != 0 && position != expected) {
          fail("attention: row ", i, " of sequence ", b, " is at position ", position,
               " but the row before it is at ", expected - 1,
               " (a document's positions go 0, 1, 2...)");
        }
      }
    }
  }
}

// The first key row i of sequence b may see: the start of its document (global layers), or the
// start of its chunk (chunked layers). Positions count from the document's start, so a document
// packed after another sees only itself, with its chunks where they would be if it were alone.
std::int64_t first_visible(const AttentionShape& s, std::int64_t b, std::int64_t i) {
  const std::int64_t position = document_position(s, b, i);
  return i - (s.chunk_size ? position % *s.chunk_size : position);
}

}  // namespace

std::int64_t document_position(const AttentionShape& s, std::int64_t b, std::int64_t i) {
  return s.positions.empty() ? i : s.positions[static_cast<std::size_t>(b * s.tokens + i)];
}

void attention_forward(const AttentionShape& s, const Tensor& q, const Tensor& k, const Tensor& v,
                       Tensor& context, Tensor& probabilities) {
  check_shapes(s, q, k, v);
  const std::int64_t T = s.tokens, D = s.head_dim, group = s.heads / s.kv_heads;
  expect_shape(context, {s.sequences * T, s.heads * D}, "attention context");
  expect_shape(probabilities, {s.sequences, s.heads, T, T}, "attention probabilities");
  const float* qd = q.data<float>();
  const float* kd = k.data<float>();
  const float* vd = v.data<float>();
  float* out = context.mutable_data<float>();
  float* probs = probabilities.mutable_data<float>();
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));

  // One work item per (sequence, query head): its rows of context and probabilities are its own.
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < s.sequences; ++b) {
    for (std::int64_t h = 0; h < s.heads; ++h) {
      const std::int64_t g = h / group;
      for (std::int64_t i = 0; i < T; ++i) {
        const float* qi = qd + ((b * T + i) * s.heads + h) * D;
        float* p = probs + ((b * s.heads + h) * T + i) * T;  // row i of [T, T]
        std::fill(p, p + T, 0.0f);
        const std::int64_t first = first_visible(s, b, i);
        float largest = -std::numeric_limits<float>::infinity();
        for (std::int64_t j = first; j <= i; ++j) {
          p[j] = dot(qi, kd + ((b * T + j) * s.kv_heads + g) * D, D) * scale;
          largest = std::max(largest, p[j]);
        }
        float total = 0.0f;
        for (std::int64_t j = first; j <= i; ++j) {
          p[j] = std::exp(p[j] - largest);  // minus the max: the same softmax, no overflow
          total += p[j];
        }
        float* ci = out + ((b * T + i) * s.heads + h) * D;
        std::fill(ci, ci + D, 0.0f);
        for (std::int64_t j = first; j <= i; ++j) {
          p[j] /= total;
          const float* vj = vd + ((b * T + j) * s.kv_heads + g) * D;
          for (std::int64_t d = 0; d < D; ++d) ci[d] += p[j] * vj[d];
        }
      }
    }
  }
}

void attention_backward(const AttentionShape& s, const Tensor& q, const Tensor& k, const Tensor& v,
                        const Tensor& probabilities, const Tensor& dcontext, Tensor& dq, Tensor& dk,
                        Tensor& dv) {
  check_shapes(s, q, k, v);
  const std::int64_t T = s.tokens, D = s.head_dim, group = s.heads / s.kv_heads;
  expect_shape(probabilities, {s.sequences, s.heads, T, T}, "attention probabilities");
  expect_shape(dcontext, {s.sequences * T, s.heads * D}, "attention dcontext");
  expect_shape(dq, q.shape(), "attention dq");
  expect_shape(dk, k.shape(), "attention dk");
  expect_shape(dv, v.shape(), "attention dv");
  const float* qd = q.data<float>();
  const float* kd = k.data<float>();
  const float* vd = v.data<float>();
  const float* probs = probabilities.data<float>();
  const float* dctx = dcontext.data<float>();
  float* dqd = dq.mutable_data<float>();
  float* dkd = dk.mutable_data<float>();
  float* dvd = dv.mutable_data<float>();
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));

  // One work item per (sequence, kv head): it owns the dk and dv rows of that kv head and the dq
  // rows of the query heads of its group, so no two threads write the same number.
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < s.sequences; ++b) {
    for (std::int64_t g = 0; g < s.kv_heads; ++g) {
      std::vector<float> dp(static_cast<std::size_t>(T));
      for (std::int64_t j = 0; j < T; ++j) {
        std::fill_n(dkd + ((b * T + j) * s.kv_heads + g) * D, D, 0.0f);
        std::fill_n(dvd + ((b * T + j) * s.kv_heads + g) * D, D, 0.0f);
      }
      for (std::int64_t h = g * group; h < (g + 1) * group; ++h) {
        for (std::int64_t i = 0; i < T; ++i) {
          const float* p = probs + ((b * s.heads + h) * T + i) * T;
          const float* dci = dctx + ((b * T + i) * s.heads + h) * D;
          const float* qi = qd + ((b * T + i) * s.heads + h) * D;
          float* dqi = dqd + ((b * T + i) * s.heads + h) * D;
          const std::int64_t first = first_visible(s, b, i);
          // [excerpt softmax_backward]
          float weighted = 0.0f;  // Σ_l p_l dp_l
          for (std::int64_t j = first; j <= i; ++j) {
            const std::int64_t kv_row = ((b * T + j) * s.kv_heads + g) * D;
            dp[static_cast<std::size_t>(j)] = dot(dci, vd + kv_row, D);
            weighted += p[j] * dp[static_cast<std::size_t>(j)];
            float* dvj = dvd + kv_row;
            for (std::int64_t d = 0; d < D; ++d) dvj[d] += p[j] * dci[d];
          }
          std::fill(dqi, dqi + D, 0.0f);
          for (std::int64_t j = first; j <= i; ++j) {
            const std::int64_t kv_row = ((b * T + j) * s.kv_heads + g) * D;
            const float ds = p[j] * (dp[static_cast<std::size_t>(j)] - weighted) * scale;
            const float* kj = kd + kv_row;
            float* dkj = dkd + kv_row;
            for (std::int64_t d = 0; d < D; ++d) {
              dqi[d] += ds * kj[d];
              dkj[d] += ds * qi[d];
            }
          }
          // [end excerpt]
        }
      }
    }
  }
}

}  // namespace llama4
