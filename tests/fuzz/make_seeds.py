#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into OUT/<target>/ (scripts/fuzz.sh runs it).

Seeds are the golden files where they exist, plus a few small hand-made ones: a two-layer model
small enough that the fuzzer tries thousands of variants a second, and values nested past the
parsers' 64-level limit, so the fuzzer starts next to every rule rather than having to find it.
Only the standard library: no torch, no numpy.

    tests/fuzz/make_seeds.py OUT
"""
import json
import os
import random
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = os.path.join(ROOT, "golden", "data")
SEPARATOR = b"\n==> next file <==\n"  # fuzz::kFileSeparator (tests/fuzz/fuzz_files.hpp)


def read(*parts):
    with open(os.path.join(*parts), "rb") as f:
        return f.read()


def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, raw bytes)] -> the bytes of a safetensors file."""
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def f32(shape, rng):
    count = 1
    for size in shape:
        count *= size
    return struct.pack(f"<{count}f", *(rng.uniform(-0.5, 0.5) for _ in range(count)))


def small_model():
    """config.json and the tensors of a two-layer Llama 4 (layer 0 dense, layer 1 MoE), hidden 8."""
    text = {"vocab_size": 32, "hidden_size": 8, "num_attention_heads": 2, "num_key_value_heads": 1,
            "head_dim": 4, "num_hidden_layers": 2, "interleave_moe_layer_step": 2,
            "num_local_experts": 2, "num_experts_per_tok": 1, "intermediate_size": 4,
            "intermediate_size_mlp": 8, "attention_chunk_size": 4, "max_position_embeddings": 16,
            "no_rope_layers": [1, 0], "floor_scale": 4, "bos_token_id": 1, "eos_token_id": 2,
            "rope_theta": 10000.0,
            "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                             "high_freq_factor": 4.0, "original_max_position_embeddings": 8}}
    config = json.dumps({"model_type": "llama4", "text_config": text}).encode()
    rng = random.Random(1)
    shapes = [("model.embed_tokens.weight", [32, 8]), ("model.norm.weight", [8]),
              ("lm_head.weight", [32, 8])]
    for layer in range(2):
        p = f"model.layers.{layer}."
        shapes += [(p + "input_layernorm.weight", [8]), (p + "post_attention_layernorm.weight", [8]),
                   (p + "self_attn.q_proj.weight", [8, 8]), (p + "self_attn.k_proj.weight", [4, 8]),
                   (p + "self_attn.v_proj.weight", [4, 8]), (p + "self_attn.o_proj.weight", [8, 8])]
    p = "model.layers.0.feed_forward."
    shapes += [(p + "gate_proj.weight", [8, 8]), (p + "up_proj.weight", [8, 8]),
               (p + "down_proj.weight", [8, 8])]
    p = "model.layers.1.feed_forward."
    shapes += [(p + "router.weight", [2, 8]), (p + "experts.gate_up_proj", [2, 8, 8]),
               (p + "experts.down_proj", [2, 4, 8]), (p + "shared_expert.gate_proj.weight", [4, 8]),
               (p + "shared_expert.up_proj.weight", [4, 8]),
               (p + "shared_expert.down_proj.weight", [8, 4])]
    tensors = [(name, "F32", shape, f32(shape, rng)) for name, shape in sorted(shapes)]
    return config, tensors


def read_safetensors(data):
    """The bytes of a safetensors file -> [(name, dtype, shape, raw bytes)] in file order."""
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    header.pop("__metadata__", None)
    start = 8 + length
    return [(name, entry["dtype"], entry["shape"],
             data[start + entry["data_offsets"][0]:start + entry["data_offsets"][1]])
            for name, entry in sorted(header.items(), key=lambda item: item[1]["data_offsets"][0])]


def q8_0_blocks(values):
    """floats (a multiple of 32) -> Q8_0 blocks: f16 scale max|x| / 127, then round(x / scale)."""
    out = b""
    for b in range(0, len(values), 32):
        block = values[b:b + 32]
        d = max(abs(v) for v in block) / 127.0
        out += struct.pack("<e", d) + bytes((round(v / d) if d else 0) & 0xFF for v in block)
    return out


def quantized_tiny():
    """The golden tiny checkpoint with layer 0's attention projections in Q8_0 (chapter 12): U8
    blocks in the file, a quantization section in config.json naming their format and shape."""
    config = json.loads(read(GOLDEN, "tiny", "config.json"))
    tensors, listed = [], {}
    for name, dtype, shape, raw in read_safetensors(read(GOLDEN, "tiny", "model.safetensors")):
        if ".layers.0.self_attn." in name and dtype == "BF16":
            values = [struct.unpack("<f", b"\0\0" + raw[i:i + 2])[0] for i in range(0, len(raw), 2)]
            raw = q8_0_blocks(values)
            listed[name] = {"format": "Q8_0", "shape": shape}
            shape, dtype = shape[:-1] + [shape[-1] // 32 * 34], "U8"
        tensors.append((name, dtype, shape, raw))
    config["quantization"] = {"format": "Q8_0", "lm_head": True, "tensors": listed}
    return json.dumps(config).encode(), safetensors(tensors, {"format": "pt"})


def deep(depth=100):
    return "[" * depth + "1" + "]" * depth


def main(out):
    seeds = {}

    def add(target, name, data):
        seeds.setdefault(target, []).append((name, data))

    config, tensors = small_model()
    single = safetensors(tensors, {"format": "pt"})
    half = len(tensors) // 2
    shard_names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    shards = [safetensors(tensors[:half]), safetensors(tensors[half:])]
    index = json.dumps({"metadata": {"total_size": 0}, "weight_map": {
        name: shard_names[0 if i < half else 1] for i, (name, *_) in enumerate(tensors)}}).encode()

    # safetensors files
    add("fuzz_safetensors", "small", single)
    add("fuzz_safetensors", "shard", read(GOLDEN, "tiny-sharded", shard_names[1]))
    add("fuzz_safetensors", "mixed", safetensors([
        ("b", "BF16", [3], b"\x80\x3f" * 3), ("i", "I32", [2], struct.pack("<2i", 1, -1)),
        ("e", "F32", [0, 4], b""), ("h", "F16", [1, 1], b"\x00\x3c")], {"format": "pt"}))
    header = ('{"w":{"dtype":"F32","shape":' + deep() + ',"data_offsets":[0,4]}}').encode()
    add("fuzz_safetensors", "deep-shape", struct.pack("<Q", len(header)) + header + b"\0" * 4)

    # config.json
    for model in ("tiny", "tiny-maverick"):
        add("fuzz_model_config", model, read(GOLDEN, model, "config.json"))
    add("fuzz_model_config", "small", config)
    add("fuzz_model_config", "deep", config.replace(b'"head_dim": 4', b'"head_dim": ' + deep().encode()))

    # the shard index, next to the golden shards
    add("fuzz_shard_index", "golden", read(GOLDEN, "tiny-sharded", "model.safetensors.index.json"))
    add("fuzz_shard_index", "deep", b'{"weight_map": {"w": ' + deep().encode() + b"}}")

    # whole checkpoint directories
    add("fuzz_checkpoint_directory", "small", config + SEPARATOR + single)
    add("fuzz_checkpoint_directory", "small-sharded",
        SEPARATOR.join([config, index, shards[0], shards[1]]))
    add("fuzz_checkpoint_directory", "tiny",
        read(GOLDEN, "tiny", "config.json") + SEPARATOR + read(GOLDEN, "tiny", "model.safetensors"))
    quantized_config, quantized_weights = quantized_tiny()  # chapter 12's quantization section
    add("fuzz_checkpoint_directory", "tiny-q8_0", quantized_config + SEPARATOR + quantized_weights)

    # multiple-choice questions (JSON Lines)
    add("fuzz_multiple_choice", "cloze", read(ROOT, "golden", "eval", "bible-cloze.jsonl"))
    add("fuzz_multiple_choice", "deep", b'{"context": "x", "choices": ' + deep().encode() + b', "answer": 0}\n')

    # the training checkpoint --resume reads: the small model's weights and Adam moments, f32
    settings = {"steps": 10, "sequences": 2, "tokens": 8, "peak_learning_rate": 0.001,
                "warmup_steps": 2, "minimum_learning_rate": 0.0001, "beta1": 0.9, "beta2": 0.95,
                "epsilon": 1e-8, "weight_decay": 0.1, "max_gradient_norm": 1.0, "seed": 1,
                "evaluate_every": 5, "evaluation_batches": 1, "initialisation_seed": 1}
    state = [(kind + "." + name, dtype, shape, raw) for name, dtype, shape, raw in tensors
             for kind in ("weight", "first_moment", "second_moment")]
    add("fuzz_training_checkpoint", "small", config + SEPARATOR + safetensors(
        sorted(state), {"steps_done": "3", "adamw_steps": "3", "settings": json.dumps(settings)}))

    # conversation files (chapter 13): every role, a long answer, a line nested past the limit
    conversation = {"task": "book", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Which book is this verse from? In the beginning"},
        {"role": "assistant", "content": "Genesis"}]}
    rewrite = {"messages": [{"role": "user", "content": "Rewrite: Thou shalt not steal."},
                            {"role": "assistant", "content": "You shall not steal. " * 8}]}
    add("fuzz_conversations", "three", "\n".join(json.dumps(c) for c in (conversation, rewrite, conversation)).encode() + b"\n")
    add("fuzz_conversations", "deep", b'{"messages": ' + deep().encode() + b"}\n")

    # a LoRA adapter of the golden tiny model (rank 2, every target module), as save_adapter writes it
    tiny = read(GOLDEN, "tiny", "model.safetensors")
    tiny_header = json.loads(tiny[8:8 + struct.unpack("<Q", tiny[:8])[0]])
    modules = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    adapter, rng = [], random.Random(3)
    for name, entry in sorted(tiny_header.items()):
        stem = name[:-len(".weight")] if name.endswith(".weight") else ""
        if stem.split(".")[-1] in modules and len(entry["shape"]) == 2:
            out_features, in_features = entry["shape"]
            adapter.append(("base_model.model." + stem + ".lora_A.weight", "F32", [2, in_features], f32([2, in_features], rng)))
            adapter.append(("base_model.model." + stem + ".lora_B.weight", "F32", [out_features, 2], f32([out_features, 2], rng)))
    adapter_config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 2, "lora_alpha": 4,
                      "target_modules": list(modules), "bias": "none", "use_dora": False,
                      "use_rslora": False, "fan_in_fan_out": False}
    add("fuzz_adapter", "tiny", json.dumps(adapter_config).encode() + SEPARATOR + safetensors(sorted(adapter), {"format": "pt"}))

    # GGUF (chapter 12): the golden tiny model in Q4_0, and a file of metadata only
    add("fuzz_gguf", "tiny-q4_0", read(GOLDEN, "gguf", "tiny-q4_0.gguf"))
    add("fuzz_gguf", "vocabulary", read(GOLDEN, "gguf", "llama4-bible-tokenizer.gguf"))
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, 2)
    for key, value in (("general.architecture", b"llama4"), ("llama4.block_count", None)):
        header += struct.pack("<Q", len(key)) + key.encode()
        header += (struct.pack("<IQ", 8, len(value)) + value) if value else struct.pack("<II", 4, 2)
    add("fuzz_gguf", "metadata-only", header)

    # the challenge's files: a workload (its first prompts) and the thresholds
    workload = json.loads(read(ROOT, "bench", "challenge", "workloads", "small.json"))
    workload["prompts"] = workload["prompts"][:2] + [{"ids": [4096, 5, 6], "max_new_tokens": 3}]
    add("fuzz_challenge_files", "small", json.dumps(workload).encode() + SEPARATOR +
        read(ROOT, "bench", "challenge", "thresholds.json"))

    # activation dumps
    rng = random.Random(2)
    stages = [("embedding", [2, 8]), ("layers.0.attn_norm", [2, 8]), ("layers.0.q", [2, 2, 4]),
              ("layers.1.output", [2, 8]), ("final_norm", [2, 8]), ("logits", [2, 32])]
    dump = [(name, "F32", shape, f32(shape, rng)) for name, shape in stages]
    dump.append(("tokens", "I32", [2], struct.pack("<2i", 5, 7)))
    add("fuzz_activation_dump", "small", safetensors(dump, {"format": "llama4-activations"}))
    add("fuzz_activation_dump", "golden", read(GOLDEN, "activations-tiny-maverick.safetensors"))

    # command lines: arguments separated by NUL bytes
    for line in (["--tokens", "1,2,3", "-n", "4", "--ctx", "64"],
                 ["--synthetic", "tiny", "--temperature", "0.8", "--top-k", "40", "--top-p", "0.9",
                  "--min-p", "0.05", "--repeat-penalty", "1.1", "--seed", "3", "--threads", "2"],
                 ["--chat", "--system", "Be brief.", "--no-bos", "--device", "1", "--touch"],
                 ["--prompt-file", "prompt.txt", "--perplexity", "text.txt", "--tokens", "@ids"],
                 ["--dump-logits", "out.bin", "--tokens", "1", "--dump-activations", "dir"]):
        add("fuzz_command_line", "_".join(line[0:1]).strip("-"), "\0".join(line).encode())

    # tokenizer files (the toy ones are copied by scripts/fuzz.sh)
    toy_json = read(ROOT, "tests", "fuzz", "seeds", "hf_tokenizer_json", "toy.json")
    add("fuzz_hf_tokenizer_json", "deep-pre-tokenizer",
        toy_json.replace(b'"pre_tokenizer":', b'"pre_tokenizer":' + deep().encode() + b',"x":', 1))

    for target, files in seeds.items():
        os.makedirs(os.path.join(out, target), exist_ok=True)
        for name, data in files:
            with open(os.path.join(out, target, "seed-" + name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
