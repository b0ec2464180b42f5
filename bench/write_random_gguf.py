#!/usr/bin/env python3
"""The synthetic `1b` shape of chapter 08 as a bf16 GGUF file with seeded random weights.

    /usr/bin/python3 bench/write_random_gguf.py OUT.gguf

For bench/decode_vs_llama_cpp.sh: llama.cpp and chapter08_model must run the same weights, so
both read this file (and the Q8_0 / Q4_0 files llama.cpp's quantizer makes of it). The shape is
common/model/synthetic_model.cpp's `1b` (16 layers, hidden 2048, 16/4 heads of 128, every other
layer MoE with 4 experts of 2048 plus the shared expert, dense layers of 4096, vocabulary 32,000:
1.27 GB in bf16); the values are not chapter 08's (numpy's generator, normal with σ = 0.02, norms
1), which decode speed does not care about. The file follows golden/gguf_writer.py's conventions.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from gguf_writer import ARRAY, F32, I32, STRING, U32, write_gguf  # noqa: E402,F401

LAYERS, HIDDEN, HEADS, KV_HEADS, HEAD_DIM = 16, 2048, 16, 4, 128
EXPERTS, EXPERT_WIDTH, DENSE_WIDTH, VOCAB = 4, 2048, 4096, 32000


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(1)

    def matrix(*shape):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02))

    metadata = [("general.architecture", STRING, "llama4"), ("general.alignment", U32, 32),
                ("general.name", STRING, "random 1b"), ("general.file_type", U32, 32),
                ("llama4.block_count", U32, LAYERS), ("llama4.context_length", U32, 131072),
                ("llama4.embedding_length", U32, HIDDEN),
                ("llama4.feed_forward_length", U32, DENSE_WIDTH),
                ("llama4.expert_feed_forward_length", U32, EXPERT_WIDTH),
                ("llama4.attention.head_count", U32, HEADS),
                ("llama4.attention.head_count_kv", U32, KV_HEADS),
                ("llama4.rope.freq_base", F32, 500000.0), ("llama4.rope.dimension_count", U32, HEAD_DIM),
                ("llama4.attention.layer_norm_rms_epsilon", F32, 1e-5),
                ("llama4.expert_count", U32, EXPERTS), ("llama4.expert_used_count", U32, 1),
                ("llama4.interleave_moe_layer_step", U32, 2), ("llama4.vocab_size", U32, VOCAB),
                ("tokenizer.ggml.bos_token_id", U32, 1), ("tokenizer.ggml.eos_token_id", U32, 2),
                # llama.cpp needs a vocabulary to load a model: placeholder tokens, no merges.
                ("tokenizer.ggml.model", STRING, "gpt2"), ("tokenizer.ggml.pre", STRING, "llama4"),
                ("tokenizer.ggml.tokens", ARRAY, (STRING, [f"<t{i}>" for i in range(VOCAB)])),
                ("tokenizer.ggml.token_type", ARRAY, (I32, [1] * VOCAB)),
                ("tokenizer.ggml.merges", ARRAY, (STRING, []))]
    ones = np.ones(HIDDEN, dtype=np.float32)
    tensors = [("token_embd.weight", matrix(VOCAB, HIDDEN), "bf16")]
    for layer in range(LAYERS):
        blk = f"blk.{layer}."
        tensors += [(blk + "attn_norm.weight", ones, "f32"),
                    (blk + "attn_q.weight", matrix(HEADS * HEAD_DIM, HIDDEN), "bf16"),
                    (blk + "attn_k.weight", matrix(KV_HEADS * HEAD_DIM, HIDDEN), "bf16"),
                    (blk + "attn_v.weight", matrix(KV_HEADS * HEAD_DIM, HIDDEN), "bf16"),
                    (blk + "attn_output.weight", matrix(HIDDEN, HEADS * HEAD_DIM), "bf16"),
                    (blk + "ffn_norm.weight", ones, "f32")]
        if (layer + 1) % 2 == 0:  # MoE
            tensors += [(blk + "ffn_gate_inp.weight", matrix(EXPERTS, HIDDEN), "f32"),
                        (blk + "ffn_gate_exps.weight", matrix(EXPERTS, EXPERT_WIDTH, HIDDEN), "bf16"),
                        (blk + "ffn_up_exps.weight", matrix(EXPERTS, EXPERT_WIDTH, HIDDEN), "bf16"),
                        (blk + "ffn_down_exps.weight", matrix(EXPERTS, HIDDEN, EXPERT_WIDTH), "bf16"),
                        (blk + "ffn_gate_shexp.weight", matrix(EXPERT_WIDTH, HIDDEN), "bf16"),
                        (blk + "ffn_up_shexp.weight", matrix(EXPERT_WIDTH, HIDDEN), "bf16"),
                        (blk + "ffn_down_shexp.weight", matrix(HIDDEN, EXPERT_WIDTH), "bf16")]
        else:
            tensors += [(blk + "ffn_gate.weight", matrix(DENSE_WIDTH, HIDDEN), "bf16"),
                        (blk + "ffn_up.weight", matrix(DENSE_WIDTH, HIDDEN), "bf16"),
                        (blk + "ffn_down.weight", matrix(HIDDEN, DENSE_WIDTH), "bf16")]
    tensors += [("output_norm.weight", ones, "f32"), ("output.weight", matrix(VOCAB, HIDDEN), "bf16")]
    write_gguf(out, metadata, tensors)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
