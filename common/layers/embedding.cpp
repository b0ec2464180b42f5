#include "common/layers/embedding.hpp"

#include "common/tensors/error.hpp"

namespace llama4 {

void embed_tokens(std::span<const std::int32_t> ids, const Tensor& table, Tensor& x) {
  if (table.rank() != 2 || !table.is_contiguous()) {
    fail("embedding table must be a contiguous [vocab, hidden] matrix, got ",
         shape_string(table.shape()));
  }
  const std::int64_t vocab = table.dim(0);
  const std::int64_t hidden = table.dim(1);
  expect_shape(x, {static_cast<std::int64_t>(ids.size()), hidden}, "embedding output");
  float* out = x.mutable_data<float>();
  // [excerpt embed_tokens]
  for (std::size_t t = 0; t < ids.size(); ++t) {
    const std::int64_t id = ids[t];
    if (id < 0 || id >= vocab) {
      fail("token id ", id, " at position ", t, " is outside the vocabulary (", vocab, " rows)");
    }
    const Tensor row = table.select(id);  // a view of one row, in the table's dtype
    float* destination = out + static_cast<std::int64_t>(t) * hidden;
    switch (table.dtype()) {
      case DType::BF16: {
        const bfloat16* source = row.data<bfloat16>();
        for (std::int64_t i = 0; i < hidden; ++i) destination[i] = bfloat16_to_float(source[i]);
        break;
      }
      case DType::F32: {
        const float* source = row.data<float>();
        for (std::int64_t i = 0; i < hidden; ++i) destination[i] = source[i];
        break;
      }
      default: {  // F16, and the block-quantized tables of GGUF files (chapter 12)
        const Tensor values = row.to(DType::F32);  // the row decoded
        const float* source = values.data<float>();
        for (std::int64_t i = 0; i < hidden; ++i) destination[i] = source[i];
      }
    }
  }
  // [end excerpt]
}

Tensor embed_tokens(std::span<const std::int32_t> ids, const Tensor& table) {
  if (table.rank() != 2)
    fail("embedding table must be [vocab, hidden], got ", shape_string(table.shape()));
  Tensor x = Tensor::zeros({static_cast<std::int64_t>(ids.size()), table.dim(1)});
  embed_tokens(ids, table, x);
  return x;
}

}  // namespace llama4
