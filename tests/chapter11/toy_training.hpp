// The toy training setup shared by chapter 11's trainer tests and chapter 14's data-parallel ones.
#pragma once

namespace llama4::testing {

// A model small enough to train in a second that still has every Llama 4 feature: an MoE layer
// with a shared expert after a dense one, a NoPE layer with temperature tuning, chunked attention
// (chunk 8, crossed by 16-token sequences), QK norm and llama3 RoPE scaling. Its vocabulary is
// the toy tokenizer's 367 ranks (golden/tokenizer/toy.tiktoken) plus Llama 4's 2,048 special
// tokens.
inline constexpr const char* kToyConfig = R"({"model_type": "llama4_text", "vocab_size": 2415,
  "hidden_size": 32, "intermediate_size": 32, "intermediate_size_mlp": 64, "num_hidden_layers": 2,
  "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "num_local_experts": 2,
  "num_experts_per_tok": 1, "moe_layers": [1], "no_rope_layers": [1, 0],
  "attention_chunk_size": 8, "floor_scale": 4, "attn_scale": 0.1, "rope_theta": 10000.0,
  "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                   "high_freq_factor": 4.0, "original_max_position_embeddings": 16},
  "max_position_embeddings": 64, "bos_token_id": 367, "eos_token_id": 368})";

// A sentence to train on, repeated as the training and validation texts.
inline constexpr const char* kText =
    "In the beginning was the Word, and the Word was with God, and the Word was God. The same was "
    "in the beginning with God. All things were made by him; and without him was not any thing "
    "made that was made. In him was life; and the life was the light of men.\n";

}  // namespace llama4::testing
