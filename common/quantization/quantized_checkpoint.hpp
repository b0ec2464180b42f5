// Quantized checkpoints: made in memory at load time, written to disk, and read back (chapter 12).
//
// A quantized checkpoint directory is an HF checkpoint directory with two differences:
//   - model.safetensors holds each quantized weight's blocks as a U8 tensor, under the weight's
//     usual name, shaped [rows..., bytes per row] (safetensors has no block types, so the bytes
//     are stored as bytes);
//   - config.json has a "quantization" section naming, for every quantized tensor, its format and
//     its shape as a matrix of weights:
//
//       "quantization": {"format": "Q4_0", "lm_head": true, "tensors": {
//         "language_model.model.layers.0.self_attn.q_proj.weight":
//             {"format": "Q4_0", "shape": [2048, 1024]},
//         "language_model.model.layers.1.feed_forward.experts.gate_up_proj":
//             {"format": "Q4_0", "shape": [16, 1024, 512], "transposed": true}, ...}}
//
// Everything else (norms, router, embedding, tokenizer files) is copied unchanged. Opening such a
// directory gives a Checkpoint whose quantized tensors are block-typed views of the mapped file,
// so a quantized model loads as fast as a bf16 one and the layers see Q4_0 tensors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

#include "common/quantization/quantize_weights.hpp"
#include "common/tensors/checkpoint.hpp"

namespace llama4 {

using QuantizeProgress = std::function<void(std::uint64_t done_bytes, std::uint64_t total_bytes)>;

// Every tensor of `source` that `plan` quantizes, quantized, in memory; the others are the same
// views. What `--quantize FORMAT` does at load time.
Checkpoint quantize_checkpoint(const Checkpoint& source, const QuantizationPlan& plan,
                               const QuantizeProgress& progress = {});

// Reads the checkpoint directory `model`, writes the quantized one to `out` (created if needed;
// it must not be `model`): model.safetensors, config.json with its quantization section, and the
// tokenizer files. Tensor by tensor, so memory holds one tensor at a time, never the checkpoint.
void write_quantized_checkpoint(const std::filesystem::path& model,
                                const std::filesystem::path& out, const QuantizationPlan& plan,
                                const QuantizeProgress& progress = {});

// Opens a checkpoint directory, quantized or not. With a quantization section in its config.json,
// each tensor listed there is checked (a tensor that may be quantized, a known format, U8 bytes of
// exactly the size the format and shape need) and becomes a block-typed view; any disagreement is
// an Error naming the tensor.
Checkpoint open_checkpoint(const std::filesystem::path& directory);

}  // namespace llama4
