// The blocks of a Llama 4 layer on the GPU: attention, SwiGLU feed-forward, mixture of experts, and
// the decoder layer that joins them. Each is the twin of a CPU class of chapters 06–08 and is built
// from that class's weights (views into the checkpoint), which it uploads once, as stored (bf16, or
// packed blocks: chapter 12):
//
//   GpuAttention     common/layers/attention.hpp     AttentionLayer
//   GpuFeedForward   common/layers/feed_forward.hpp  FeedForward
//   GpuMoe           common/layers/moe.hpp           MoeLayer (its router: moe_router.hpp)
//   GpuDecoderLayer  common/layers/decoder_layer.hpp DecoderLayer
//
// This is plain C++: it calls the kernel wrappers of gpu/*.hpp and never a HIP function, so it
// compiles with g++ like the CPU code it mirrors. Activations stay on the device from the embedding
// to the logits; the only copies to the host are the router's choices (a few bytes per token, for
// the MoE dispatch) and, when a recorder is given, every stage for the golden comparisons.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/debugging/activation_recorder.hpp"
#include "common/layers/attention.hpp"
#include "common/layers/decoder_layer.hpp"
#include "common/layers/feed_forward.hpp"
#include "common/layers/moe.hpp"
#include "common/tensors/model_config.hpp"
#include "common/tensors/tensor.hpp"
#include "gpu/device.hpp"
#include "gpu/kv_cache.hpp"

namespace llama4::gpu {

// A checkpoint weight in device memory, as stored, with its shape: bf16 in `values`, or a matrix in
// one of chapter 12's block formats (Q8_0, Q4_0, Q4_1) in `packed`, its bytes unchanged.
struct DeviceWeight {
  DeviceBuffer<bfloat16> values;
  DeviceBuffer<std::byte> packed;
  DType dtype = DType::BF16;
  Shape shape;

  const bfloat16* data() const { return values.data(); }
  std::size_t bytes() const { return values.bytes() + packed.bytes(); }
};

// Uploads `weight` (a host tensor, usually a view into the checkpoint). It must be bf16 (norms,
// the embedding, the router: what chapter 12 keeps in bf16); another dtype is an Error naming
// `what`.
DeviceWeight upload_weight(const Tensor& weight, const std::string& what);

// The same for a matrix that a product reads (the projections, the experts, the LM head), which
// may also be block-quantized (chapter 12).
DeviceWeight upload_matrix(const Tensor& weight, const std::string& what);

// y: [rows, out] = x: [rows, in] · weightᵀ for a [out, in] weight in bf16 (gpu::linear) or a block
// format (gpu::quantized_linear).
void project(const float* x, const DeviceWeight& weight, float* y, std::int64_t rows,
             std::int64_t in, std::int64_t out);

// The activations of one forward pass, in device memory, shared by every layer (the layers run one
// after another, so one set of buffers serves them all). reserve() grows them for T tokens; a later
// pass with as many tokens or fewer reuses them, so decoding allocates nothing.
//
// Shapes for T tokens (H hidden, D head_dim, E experts, k experts per token, I expert width):
struct Workspace {
  std::int64_t tokens = 0;            // the T the buffers are sized for
  DeviceBuffer<std::int32_t> ids;     // [T] token ids
  DeviceBuffer<float> x;              // [T, H] the residual stream
  DeviceBuffer<float> normed;         // [T, H] rms_norm(x)
  DeviceBuffer<float> q;              // [T, heads, D]
  DeviceBuffer<float> k;              // [T, kv_heads, D]
  DeviceBuffer<float> v;              // [T, kv_heads, D]
  DeviceBuffer<float> context;        // [T, heads · D]
  DeviceBuffer<float> block_out;      // [T, H] the attention's or the feed-forward's output
  DeviceBuffer<float> gate;           // [T, max(I, I_mlp)] dense SwiGLU: gate, then silu(gate)·up
  DeviceBuffer<float> up;             // [T, max(I, I_mlp)]
  DeviceBuffer<float> router_logits;  // [T, E]
  DeviceBuffer<std::int32_t> expert_index;  // [T, k]
  DeviceBuffer<float> expert_score;         // [T, k]
  DeviceBuffer<std::int32_t> expert_slots;  // [T · k] the slots, batched by expert
  DeviceBuffer<float> expert_input;         // [T, H] one expert's gathered, scaled rows (n <= T)
  DeviceBuffer<float> expert_gate_up;       // [T, 2I]
  DeviceBuffer<float> expert_hidden;        // [T, I]
  DeviceBuffer<float> expert_output;        // [T, H]
  DeviceBuffer<float> routed;               // [T, H] Σ of the routed experts
  std::int64_t logit_rows = 0;
  DeviceBuffer<float> logits;           // [rows, V] rows = T or 1
  DeviceBuffer<std::int32_t> next_ids;  // [rows] device argmax of the logits

  void reserve(const ModelConfig& config, std::int64_t tokens);
  void reserve_logits(const ModelConfig& config, std::int64_t rows);
};

// When `recorder` is given, downloads `count = prod(shape)` numbers at `device` and records them as
// `name` (golden naming: "layers.3.q"). Downloading waits for the kernels before it.
void record(ActivationRecorder* recorder, const std::string& name, const float* device,
            const Shape& shape);
void record(ActivationRecorder* recorder, const std::string& name, const std::int32_t* device,
            const Shape& shape);

class GpuAttention {
 public:
  // inverse_frequencies: the RoPE θ table, [head_dim / 2] f32 in device memory (the model uploads
  // it once and it must outlive this layer).
  GpuAttention(const ModelConfig& config, std::int64_t layer, const AttentionWeights& weights,
               const float* inverse_frequencies);

  // A cache suited to this layer: a ring of one chunk for chunked layers, full otherwise.
  DeviceKVCache make_cache(std::int64_t context_length) const;

  // x: [T, H] normed hidden states (device) of the tokens at positions cache.next_position()
  // onwards -> out: [T, H] (device). Appends the T tokens' keys and values to `cache`. Uses the
  // workspace's q, k, v and context.
  void forward(const float* x, std::int64_t tokens, DeviceKVCache& cache, float* out,
               Workspace& workspace, ActivationRecorder* recorder) const;

  std::size_t weight_bytes() const;

 private:
  std::int64_t layer_;
  LayerConfig kind_;
  std::int64_t hidden_, heads_, kv_heads_, head_dim_;
  std::optional<std::int64_t> chunk_size_;
  float norm_eps_;
  double floor_scale_, attn_scale_;
  const float* inverse_frequencies_;  // device, [D/2]
  DeviceWeight q_proj_, k_proj_, v_proj_,
      o_proj_;  // [heads·D, H], [kv·D, H], [kv·D, H], [H, heads·D]
};

class GpuFeedForward {
 public:
  GpuFeedForward(const FeedForward& weights, const std::string& what);

  // x: [T, H] -> out: [T, H], through the workspace's gate and up. out must not be x.
  void forward(const float* x, std::int64_t tokens, float* out, Workspace& workspace) const;

  std::int64_t width() const { return width_; }
  std::size_t weight_bytes() const {
    return gate_proj_.bytes() + up_proj_.bytes() + down_proj_.bytes();
  }

 private:
  std::int64_t hidden_, width_;
  DeviceWeight gate_proj_, up_proj_, down_proj_;  // [I, H], [I, H], [H, I]
};

class GpuMoe {
 public:
  GpuMoe(const ModelConfig& config, std::int64_t layer, const MoeWeights& weights);

  // x: [T, H] (post-attention-normed, device) -> out: [T, H] = shared expert + routed experts. The
  // dispatch is described in gpu/moe.hpp. out must not be x.
  void forward(const float* x, std::int64_t tokens, float* out, Workspace& workspace,
               ActivationRecorder* recorder) const;

  std::size_t weight_bytes() const;

 private:
  std::int64_t layer_, hidden_, experts_, top_k_, width_;
  DeviceWeight router_;        // [E, H]
  DeviceWeight gate_up_proj_;  // [E, H, 2I]
  DeviceWeight down_proj_;     // [E, I, H]
  GpuFeedForward shared_expert_;
};

class GpuDecoderLayer {
 public:
  // Takes the weights of the CPU layer (which only holds views into the checkpoint).
  GpuDecoderLayer(const ModelConfig& config, std::int64_t layer, const DecoderLayer& cpu_layer,
                  const float* inverse_frequencies);

  // workspace.x: [T, H], the residual stream, updated in place. Appends T tokens to `cache`.
  void forward(std::int64_t tokens, DeviceKVCache& cache, Workspace& workspace,
               ActivationRecorder* recorder) const;

  DeviceKVCache make_cache(std::int64_t context_length) const {
    return attention_.make_cache(context_length);
  }
  std::size_t weight_bytes() const;

 private:
  std::int64_t layer_, hidden_;
  float norm_eps_;
  DeviceWeight input_norm_;           // [H]
  DeviceWeight post_attention_norm_;  // [H]
  GpuAttention attention_;
  std::optional<GpuMoe> moe_;          // MoE layers
  std::optional<GpuFeedForward> mlp_;  // dense layers
};

}  // namespace llama4::gpu
