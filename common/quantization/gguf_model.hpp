// A Llama 4 GGUF file (or a split set of them) as a ModelConfig and a Checkpoint in Hugging Face's
// names and layouts, so that chapter 08's Model runs it unchanged.
//
// The config. llama.cpp's converter writes the hyperparameters as metadata keys of the "llama4"
// architecture (HF name on the right):
//
//   llama4.block_count                      num_hidden_layers
//   llama4.context_length                   max_position_embeddings
//   llama4.embedding_length                 hidden_size
//   llama4.feed_forward_length              intermediate_size_mlp   (the dense layers' width:
//   llama4.expert_feed_forward_length       intermediate_size        the converter swaps the names)
//   llama4.attention.head_count (_kv)       num_attention_heads (num_key_value_heads)
//   llama4.attention.layer_norm_rms_epsilon rms_norm_eps
//   llama4.rope.freq_base                   rope_theta
//   llama4.rope.dimension_count             head_dim
//   llama4.expert_count (_used_count)       num_local_experts (num_experts_per_tok)
//   llama4.interleave_moe_layer_step        interleave_moe_layer_step
//   tokenizer.ggml.bos/eos/eot/eom_token_id bos_token_id, eos_token_id
//
// and llama3's RoPE scaling as a tensor, "rope_freqs": the divisor of each frequency that the
// formula gives (RopeScaling::frequency_divisors). What the file does NOT carry, llama.cpp fixes
// for every llama4 model, and so do we: chunked attention of 8192 tokens on the RoPE layers, every
// 4th layer NoPE with global attention, temperature tuning with floor 8192 and scale 0.1, QK norm
// unless the model has 128 experts (Maverick), and with "llama4.attention.sliding_window" = 0 no
// chunking at all and only the last layer NoPE. Files written by golden/gguf_writer.py (the tiny
// test models, whose chunk is 8 tokens) carry those values too, under keys llama.cpp ignores:
// hf.attention_chunk_size, hf.floor_scale, hf.attn_scale, hf.no_rope_layers, hf.use_qk_norm.
//
// The weights. GGUF names and HF names, per layer N (model.layers.N.):
//
//   blk.N.attn_norm / attn_q / attn_k / attn_v / attn_output   input_layernorm, self_attn.*_proj
//   blk.N.ffn_norm                                              post_attention_layernorm
//   blk.N.ffn_gate / ffn_up / ffn_down                          feed_forward.*_proj (dense layers)
//   blk.N.ffn_gate_inp                                          feed_forward.router
//   blk.N.ffn_gate_shexp / _up_shexp / _down_shexp              feed_forward.shared_expert.*_proj
//   blk.N.ffn_gate_exps + ffn_up_exps   [E, I, H] each          feed_forward.experts.gate_up_proj
//   blk.N.ffn_down_exps                 [E, H, I]               feed_forward.experts.down_proj
//   token_embd, output_norm, output                             embed_tokens, norm, lm_head
//
// The trap is in the experts: HF stores them input-major and fused ([E, H, 2I]: gate then up along
// the last axis); GGUF stores gate and up apart and output-major ([E, I, H], a row per output, as
// nn.Linear would). The converter transposed them on the way in. Quantized experts in this project
// are output-major too (chapter 12), so quantized GGUF experts are used in place, except gate and
// up, which are copied side by side into one [E, 2I, H] tensor; float experts are transposed back
// to HF's layout (a copy). Everything else is a zero-copy view of the mapped file.
#pragma once

#include <filesystem>

#include "common/tensors/checkpoint.hpp"
#include "common/tensors/model_config.hpp"

namespace llama4 {

// True for a path that names a .gguf file (the first of a split set included).
bool is_gguf_path(const std::filesystem::path& path);

struct GgufModel {
  ModelConfig config;
  Checkpoint checkpoint;
};

// Opens a llama4 GGUF file; for "NAME-00001-of-00003.gguf" the other parts too (each must be
// there). Checks the architecture, every key it reads and every tensor it maps; an Error names the
// file and the key or tensor at fault.
GgufModel open_gguf_model(const std::filesystem::path& path);

}  // namespace llama4
