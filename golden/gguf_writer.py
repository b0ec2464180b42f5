#!/usr/bin/env python3
"""Write a Hugging Face Llama 4 checkpoint as a GGUF file, the way llama.cpp's converter does.

    /usr/bin/python3 golden/gguf_writer.py --model golden/data/tiny --type bf16 --out tiny.gguf
    /usr/bin/python3 golden/gguf_writer.py --model golden/llama4-bible --type q8_0 --out bible.gguf

Chapter 12 reads GGUF files (common/quantization/gguf_file.cpp, gguf_model.cpp). To test that
reader we need GGUF files of models whose HF logits we know, written by something other than the
reader itself. This script is that second implementation, written from the GGUF specification
(ggml's docs/gguf.md) and the conventions of llama.cpp's `convert_hf_to_gguf.py` for llama4
(class Llama4Model), in numpy, independent of the C++ code:

  - metadata "llama4.*" (block_count, context_length, embedding_length, feed_forward_length =
    HF intermediate_size_mlp, expert_feed_forward_length = HF intermediate_size, head counts,
    rope.freq_base, rope.dimension_count, layer_norm_rms_epsilon, expert_count,
    expert_used_count, interleave_moe_layer_step, vocab_size) and the special token ids;
  - tensor names blk.N.attn_q, ffn_gate_exps, ... (the table in gguf_model.hpp); dims written
    innermost first;
  - the routed experts: gate_up_proj [E, H, 2I] transposed to [E, 2I, H] and split into
    ffn_gate_exps and ffn_up_exps [E, I, H]; down_proj [E, I, H] transposed to [E, H, I];
  - no permutation of q and k (Llama 4 needs none);
  - llama3 RoPE scaling as the tensor rope_freqs [D/2], one divisor per frequency. (The real
    converter takes original_max_position_embeddings from the top of the config, default 8192,
    not from rope_scaling; we take rope_scaling's, which is what HF computes with. For Scout both
    are 8192.)
  - Q8_0 / Q4_0 / Q4_1 blocks by llama.cpp's reference formulas (golden/quantization.py). Like
    llama.cpp, norms, rope_freqs and the router stay F32; the token embedding is quantized too.

What llama.cpp fixes for every llama4 model (chunk 8192, NoPE every 4th layer, temperature floor
8192 and scale 0.1, QK norm unless 128 experts) the file cannot say. When the model differs from
those values (the golden tiny models have a chunk of 8 tokens) the script writes the model's own
values under "hf.*" keys, which llama.cpp ignores and our reader honours; --llama-cpp-keys-only
leaves them out (a file as llama.cpp's converter would write it).

With a tokenizer.tiktoken beside the weights, the vocabulary goes in too ("gpt2" byte-level BPE:
tokens, types, merges, pre-tokenizer "llama4"), so that llama.cpp itself can load the file
(golden/check_llama_cpp_gguf.py compares its logits with ours). --split N writes N parts named
NAME-0000k-of-0000N.gguf, as llama.cpp's gguf-split does.
"""
import argparse
import base64
import json
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quantization import FORMATS, f16_bits, quantize_rows  # noqa: E402
from safetensors_io import f32_to_bf16_bits, read_safetensors  # noqa: E402

ALIGNMENT = 32
# ggml type numbers and (block elements, block bytes).
GGML_TYPES = {"f32": (0, 1, 4), "f16": (1, 1, 2), "q4_0": (2, 32, 18), "q4_1": (3, 32, 20),
              "q8_0": (8, 32, 34), "bf16": (30, 1, 2)}
FILE_TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q8_0": 7, "bf16": 32}  # llama_ftype
# GGUF value types.
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)


# ---- encoding ---------------------------------------------------------------------------------

def gguf_string(text):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return struct.pack("<Q", len(data)) + data


def gguf_value(kind, value):
    scalar = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f",
              BOOL: "<?", U64: "<Q", I64: "<q", F64: "<d"}
    if kind == STRING:
        return gguf_string(value)
    if kind == ARRAY:
        element_kind, elements = value
        body = b"".join(gguf_value(element_kind, e) for e in elements)
        return struct.pack("<IQ", element_kind, len(elements)) + body
    return struct.pack(scalar[kind], value)


def encode_tensor(array, kind):
    """The bytes of a float array in ggml type `kind` (rows along the last axis)."""
    array = np.ascontiguousarray(array, dtype=np.float32)
    if kind == "f32":
        return array.tobytes()
    if kind == "f16":
        return array.astype(np.float16).tobytes()
    if kind == "bf16":
        return f32_to_bf16_bits(array).tobytes()
    rows = array.reshape(-1, array.shape[-1])
    packed, _ = quantize_rows(rows, FORMATS[kind])
    return packed.tobytes()


def write_gguf(path, metadata, tensors):
    """metadata: [(key, kind, value)]; tensors: [(name, float array, ggml kind)]."""
    infos, blobs, offset = b"", [], 0
    for name, array, kind in tensors:
        data = encode_tensor(array, kind)
        dims = list(reversed(array.shape))  # innermost first
        infos += gguf_string(name) + struct.pack("<I", len(dims))
        infos += b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", GGML_TYPES[kind][0], offset)
        padding = (-len(data)) % ALIGNMENT
        blobs.append(data + b"\0" * padding)
        offset += len(data) + padding
    body = b"".join(gguf_string(key) + struct.pack("<I", kind) + gguf_value(kind, value)
                    for key, kind, value in metadata)
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata)) + body + infos
    header += b"\0" * ((-len(header)) % ALIGNMENT)
    with open(path + ".partial", "wb") as f:
        f.write(header)
        for blob in blobs:
            f.write(blob)
    os.replace(path + ".partial", path)


# ---- the model --------------------------------------------------------------------------------

def rope_divisors(text, head_dim):
    """llama3 scaling as one divisor per frequency (what rope_freqs holds)."""
    scaling = text.get("rope_scaling") or {}
    if scaling.get("rope_type", scaling.get("type")) != "llama3":
        return None
    theta = text.get("rope_theta", 500000.0)
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    original = scaling["original_max_position_embeddings"]
    frequencies = 1.0 / (np.float32(theta) ** (np.arange(0, head_dim, 2, dtype=np.float32) / head_dim))
    divisors = []
    for frequency in frequencies:
        wavelength = 2 * math.pi / float(frequency)
        if wavelength < original / high:
            divisors.append(1.0)
        elif wavelength > original / low:
            divisors.append(factor)
        else:
            smooth = (original / wavelength - low) / (high - low)
            divisors.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(divisors, dtype=np.float32)


def vocabulary_metadata(tiktoken_path, vocab_size, specials):
    """tokens, types and merges of a tiktoken rank file as GGUF's "gpt2" byte-level BPE."""
    # GPT-2's byte -> printable character table.
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + extra)
            extra += 1
    ranks = {}
    with open(tiktoken_path, "rb") as f:
        for line in f:
            if line.strip():
                encoded, rank = line.split()
                ranks[base64.b64decode(encoded)] = int(rank)
    tokens = ["[PAD%d]" % i for i in range(vocab_size)]
    types = [5] * vocab_size  # unused
    for data, rank in ranks.items():
        tokens[rank] = "".join(table[b] for b in data)
        types[rank] = 1  # normal
    for text, rank in specials.items():
        tokens[rank] = text
        types[rank] = 3  # control
    merges = []
    for data, rank in sorted(ranks.items(), key=lambda item: item[1]):
        splits = [(ranks[data[:i]], ranks[data[i:]], i) for i in range(1, len(data))
                  if data[:i] in ranks and data[i:] in ranks and max(ranks[data[:i]], ranks[data[i:]]) < rank]
        for _, _, i in sorted(splits):
            merges.append("".join(table[b] for b in data[:i]) + " " + "".join(table[b] for b in data[i:]))
    return [("tokenizer.ggml.model", STRING, "gpt2"), ("tokenizer.ggml.pre", STRING, "llama4"),
            ("tokenizer.ggml.tokens", ARRAY, (STRING, tokens)),
            ("tokenizer.ggml.token_type", ARRAY, (I32, types)),
            ("tokenizer.ggml.merges", ARRAY, (STRING, merges))]


def convert(model_dir, kind, llama_cpp_keys_only):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    text = config.get("text_config", config)
    weights = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    layers = text["num_hidden_layers"]
    heads = text["num_attention_heads"]
    head_dim = text.get("head_dim") or text["hidden_size"] // heads
    experts = text["num_local_experts"]

    metadata = [("general.architecture", STRING, "llama4"), ("general.alignment", U32, ALIGNMENT),
                ("general.name", STRING, os.path.basename(os.path.normpath(model_dir))),
                ("general.file_type", U32, FILE_TYPES[kind]),
                ("llama4.block_count", U32, layers),
                ("llama4.context_length", U32, text["max_position_embeddings"]),
                ("llama4.embedding_length", U32, text["hidden_size"]),
                ("llama4.feed_forward_length", U32, text["intermediate_size_mlp"]),
                ("llama4.expert_feed_forward_length", U32, text["intermediate_size"]),
                ("llama4.attention.head_count", U32, heads),
                ("llama4.attention.head_count_kv", U32, text["num_key_value_heads"]),
                ("llama4.rope.freq_base", F32, text.get("rope_theta", 500000.0)),
                ("llama4.rope.dimension_count", U32, head_dim),
                ("llama4.attention.layer_norm_rms_epsilon", F32, text["rms_norm_eps"]),
                ("llama4.expert_count", U32, experts),
                ("llama4.expert_used_count", U32, text["num_experts_per_tok"]),
                ("llama4.interleave_moe_layer_step", U32, text.get("interleave_moe_layer_step", 1)),
                ("llama4.vocab_size", U32, text["vocab_size"])]
    eos = text.get("eos_token_id")
    eos = eos if isinstance(eos, list) else [eos]
    metadata += [("tokenizer.ggml.bos_token_id", U32, text["bos_token_id"]),
                 ("tokenizer.ggml.eos_token_id", U32, eos[0])]
    if len(eos) > 2:  # Llama 4: <|end_of_text|>, <|eom|>, <|eot|>
        metadata += [("tokenizer.ggml.eom_token_id", U32, eos[1]),
                     ("tokenizer.ggml.eot_token_id", U32, eos[2])]

    # The values llama.cpp fixes; written under hf.* where this model's differ.
    no_rope = text.get("no_rope_layers") or [int((l + 1) % 4 != 0) for l in range(layers)]
    fixed = (text.get("attention_chunk_size") == 8192 and text.get("floor_scale", 8192) == 8192
             and text.get("attn_scale", 0.1) == 0.1
             and no_rope == [int((l + 1) % 4 != 0) for l in range(layers)]
             and text.get("use_qk_norm", True) == (experts != 128))
    if not fixed and not llama_cpp_keys_only:
        metadata += [("hf.attention_chunk_size", U32, text.get("attention_chunk_size") or 0),
                     ("hf.floor_scale", F32, text.get("floor_scale", 8192)),
                     ("hf.attn_scale", F32, text.get("attn_scale", 0.1)),
                     ("hf.no_rope_layers", ARRAY, (I32, no_rope)),
                     ("hf.use_qk_norm", BOOL, bool(text.get("use_qk_norm", True)))]
    if config.get("random_weights") and not llama_cpp_keys_only:
        metadata.append(("hf.random_weights", STRING, config["random_weights"]))
    tiktoken = os.path.join(model_dir, "tokenizer.tiktoken")
    if os.path.exists(tiktoken):
        specials_path = os.path.join(model_dir, "special_tokens.json")
        specials = {}
        if os.path.exists(specials_path):
            with open(specials_path) as f:
                specials = json.load(f)
        metadata += vocabulary_metadata(tiktoken, text["vocab_size"], specials)

    # Tensors, in the converter's names and layouts.
    prefix = "language_model." if any(k.startswith("language_model.") for k in weights) else ""
    model = prefix + "model."

    def weight_kind(array):  # llama.cpp keeps 1-D tensors and the router in F32
        return "f32" if array.ndim == 1 else kind

    tensors = [("token_embd.weight", weights[model + "embed_tokens.weight"], kind)]
    divisors = rope_divisors(text, head_dim)
    if divisors is not None:
        tensors.append(("rope_freqs.weight", divisors, "f32"))
    names = {"input_layernorm.weight": "attn_norm", "self_attn.q_proj.weight": "attn_q",
             "self_attn.k_proj.weight": "attn_k", "self_attn.v_proj.weight": "attn_v",
             "self_attn.o_proj.weight": "attn_output", "post_attention_layernorm.weight": "ffn_norm",
             "feed_forward.gate_proj.weight": "ffn_gate", "feed_forward.up_proj.weight": "ffn_up",
             "feed_forward.down_proj.weight": "ffn_down",
             "feed_forward.shared_expert.gate_proj.weight": "ffn_gate_shexp",
             "feed_forward.shared_expert.up_proj.weight": "ffn_up_shexp",
             "feed_forward.shared_expert.down_proj.weight": "ffn_down_shexp"}
    for layer in range(layers):
        hf = f"{model}layers.{layer}."
        blk = f"blk.{layer}."
        for hf_name, gguf_name in names.items():
            if hf + hf_name in weights:
                array = weights[hf + hf_name]
                tensors.append((blk + gguf_name + ".weight", array, weight_kind(array)))
        if hf + "feed_forward.router.weight" in weights:
            tensors.append((blk + "ffn_gate_inp.weight", weights[hf + "feed_forward.router.weight"], "f32"))
        if hf + "feed_forward.experts.gate_up_proj" in weights:
            gate_up = weights[hf + "feed_forward.experts.gate_up_proj"].transpose(0, 2, 1)  # [E, 2I, H]
            width = gate_up.shape[1] // 2
            tensors.append((blk + "ffn_gate_exps.weight", gate_up[:, :width], kind))
            tensors.append((blk + "ffn_up_exps.weight", gate_up[:, width:], kind))
            down = weights[hf + "feed_forward.experts.down_proj"].transpose(0, 2, 1)  # [E, H, I]
            tensors.append((blk + "ffn_down_exps.weight", down, kind))
    tensors.append(("output_norm.weight", weights[model + "norm.weight"], "f32"))
    if prefix + "lm_head.weight" in weights:
        tensors.append(("output.weight", weights[prefix + "lm_head.weight"], kind))
    return metadata, tensors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="HF checkpoint directory (one model.safetensors)")
    parser.add_argument("--out", help="the .gguf file to write")
    parser.add_argument("--type", default="bf16", choices=sorted(GGML_TYPES))
    parser.add_argument("--split", type=int, default=1, help="write this many parts")
    parser.add_argument("--llama-cpp-keys-only", action="store_true",
                        help="leave out the hf.* keys (a file as llama.cpp's converter writes it)")
    parser.add_argument("--golden", action="store_true",
                        help="write the test files of golden/data/gguf/ (from golden/data/tiny)")
    args = parser.parse_args()
    if args.golden:
        write_golden_files()
        return
    if not args.model or not args.out:
        parser.error("--model and --out are required (or --golden)")
    write(args.model, args.out, args.type, args.split, args.llama_cpp_keys_only)


# The files chapter 12's tests read (tests/chapter12/test_gguf.cpp): the tiny golden model in bf16
# (its logits must equal the HF checkpoint's) and f16, Q8_0, Q4_0 and Q4_1, Q4_0 in three parts,
# and Q4_0 without the hf.* keys (llama.cpp's fixed values must apply).
GOLDEN = [("tiny-bf16.gguf", "bf16", 1, False), ("tiny-f16.gguf", "f16", 1, False),
          ("tiny-q8_0.gguf", "q8_0", 1, False), ("tiny-q4_0.gguf", "q4_0", 1, False),
          ("tiny-q4_1.gguf", "q4_1", 1, False), ("tiny-q4_0.gguf", "q4_0", 3, False),
          ("tiny-q4_0-llama-cpp-keys.gguf", "q4_0", 1, True)]
# And the vocabulary of chapter 11's model alone (no tensors): the metadata a GGUF of that model
# carries, for the tokenizer reader's tests.
TOKENIZER_ONLY = "llama4-bible-tokenizer.gguf"


def write_golden_files():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "data", "gguf")
    os.makedirs(out, exist_ok=True)
    for name, kind, split, llama_cpp_keys_only in GOLDEN:
        write(os.path.join(here, "data", "tiny"), os.path.join(out, name), kind, split,
              llama_cpp_keys_only)
    bible = os.path.join(here, "llama4-bible")
    with open(os.path.join(bible, "config.json")) as f:
        vocab_size = json.load(f)["text_config"]["vocab_size"]
    metadata = [("general.architecture", STRING, "llama4")]
    metadata += vocabulary_metadata(os.path.join(bible, "tokenizer.tiktoken"), vocab_size, {})
    write_gguf(os.path.join(out, TOKENIZER_ONLY), metadata, [])
    print(f"wrote {os.path.join(out, TOKENIZER_ONLY)}")


def write(model, out, kind, split, llama_cpp_keys_only):
    metadata, tensors = convert(model, kind, llama_cpp_keys_only)
    args = argparse.Namespace(out=out, split=split)
    if args.split == 1:
        write_gguf(args.out, metadata, tensors)
        print(f"wrote {args.out}: {len(tensors)} tensors, {len(metadata)} metadata keys")
        return
    stem = args.out[:-len(".gguf")] if args.out.endswith(".gguf") else args.out
    per_part = math.ceil(len(tensors) / args.split)
    for part in range(args.split):
        split_keys = [("split.no", U16, part), ("split.count", U16, args.split),
                      ("split.tensors.count", I32, len(tensors))]
        path = f"{stem}-{part + 1:05d}-of-{args.split:05d}.gguf"
        write_gguf(path, (metadata if part == 0 else []) + split_keys,
                   tensors[part * per_part:(part + 1) * per_part])
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
