// The attention core for training: scores, mask, softmax and the weighted sum of values, forward
// (keeping the probabilities) and backward.
//
// Inference attends one new token at a time against a KV cache (layers/attention.hpp). Training
// sees whole sequences at once, B of them side by side, each starting at position 0, and must
// remember what the backward pass needs, so it has its own forward here. For query token i of a
// sequence, query head h, and kv head g = h / (heads / kv_heads) (grouped-query attention):
//
//   s_j = q_i · k_j / sqrt(D)          for the visible keys j (the mask of layers/attention.hpp:
//                                      j <= i, and on chunked layers also j / C == i / C; with
//                                      packed documents, only keys of i's own document)
//   p = softmax(s)                     saved: [B, heads, T, T], zero where masked
//   context_i = Σ_j p_j v_j
//
// Backward, given dcontext_i (the gradient of the loss with respect to context_i):
//
//   dp_j  = dcontext_i · v_j                      how the loss changes with each weight p_j
//   dv_j += p_j · dcontext_i                      every query that read v_j contributes
//   ds_j  = p_j · (dp_j - Σ_l p_l dp_l)           the softmax's Jacobian, applied
//   dq_i  = Σ_j ds_j k_j / sqrt(D)
//   dk_j += ds_j q_i / sqrt(D)
//
// The softmax line is the only subtle one: p_j = e^{s_j} / Σ e^{s_l}, so ∂p_j/∂s_m = p_j (δ_jm -
// p_m), and Σ_j dp_j ∂p_j/∂s_m = p_m (dp_m - Σ_j p_j dp_j). Masked keys have p = 0 and get no
// gradient. With GQA, the dk and dv of kv head g collect the contributions of all heads / kv_heads
// query heads of its group: that sum is the backward of sharing one key among several heads.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "common/tensors/tensor.hpp"

namespace llama4 {

struct AttentionShape {
  std::int64_t sequences;  // B
  std::int64_t tokens;     // T per sequence; rows are ordered sequence by sequence: N = B·T
  std::int64_t heads, kv_heads, head_dim;
  std::optional<std::int64_t> chunk_size;  // set on chunked layers; none: global causal mask
  // Packed documents (chapter 13): each row's position in its own document, [N]; a 0 starts a new
  // document, and a query never sees a key before its document's start. Empty: one document per
  // sequence, positions 0..T-1.
  std::span<const std::int32_t> positions = {};
};

// The position of row i of sequence b in its document (i itself when no positions are given).
std::int64_t document_position(const AttentionShape& shape, std::int64_t b, std::int64_t i);

// q: [N, heads, D], k, v: [N, kv_heads, D] -> context: [N, heads * D] and probabilities:
// [B, heads, T, T] (both overwritten).
void attention_forward(const AttentionShape& shape, const Tensor& q, const Tensor& k,
                       const Tensor& v, Tensor& context, Tensor& probabilities);

// dcontext: [N, heads * D] -> dq: [N, heads, D], dk, dv: [N, kv_heads, D] (all overwritten).
void attention_backward(const AttentionShape& shape, const Tensor& q, const Tensor& k,
                        const Tensor& v, const Tensor& probabilities, const Tensor& dcontext,
                        Tensor& dq, Tensor& dk, Tensor& dv);

}  // namespace llama4
