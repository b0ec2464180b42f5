#!/usr/bin/env python3
"""Cross-check our GGUF files and our GGUF reader against llama.cpp itself.

    /usr/bin/python3 golden/check_llama_cpp_gguf.py --lib DIR --include DIR [--include DIR] \\
        [--program build/bin/chapter08_model] [--tokens 60]

golden/gguf_writer.py writes GGUF files the way llama.cpp's converter does, and chapter 12's tests
check that our reader gives the HF checkpoint's logits from them. Both could share one wrong idea
of the format (a transposed expert, a swapped gate and up, the RoPE divisors): this script asks
llama.cpp. It writes chapter 11's trained model (golden/llama4-bible) as GGUF (bf16, then Q8_0),
runs it in llama.cpp (golden/llama_cpp_logits.c, built here against llama.cpp's llama.h and
library) and in chapter08_model --model FILE.gguf, and compares both with the PyTorch reference
logits of golden/data/logits-llama4-bible.safetensors (golden/trained_model_logits.py).

Only the first tokens are compared: llama.cpp fixes a chunk of 8192 tokens and a temperature floor
of 8192 for every llama4 model, where this model has 64 for both; below position 63 the two agree
(no chunk boundary, temperature scale exactly 1), past it llama.cpp computes another model.

Getting llama.cpp without building it: node-llama-cpp ships it prebuilt, and its package holds a
git bundle of the sources it was built from (for llama.h):

    mkdir /tmp/llamacpp && cd /tmp/llamacpp
    npm install --ignore-scripts node-llama-cpp @node-llama-cpp/linux-x64
    git clone -q node_modules/node-llama-cpp/llama/gitRelease.bundle src
    # --lib node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
    # --include src/include --include src/ggml/include

Exit status 0 when every comparison is within its tolerance.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from gguf_writer import write  # noqa: E402
from safetensors_io import read_safetensors  # noqa: E402


def log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def build_helper(lib, includes, out):
    libraries = [p for pattern in ("libllama*.so", "libggml.*so", "libggml-base*.so")
                 for p in glob.glob(os.path.join(lib, pattern)) if "common" not in p]
    command = (["gcc", "-O2", os.path.join(HERE, "llama_cpp_logits.c"), "-o", out]
               + [f"-I{d}" for d in includes] + libraries + [f"-Wl,-rpath,{os.path.abspath(lib)}"])
    subprocess.run(command, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lib", required=True, help="folder of llama.cpp's libllama and ggml libraries")
    parser.add_argument("--include", action="append", required=True, help="folders of llama.h, ggml.h")
    parser.add_argument("--program", default=os.path.join(HERE, "..", "build", "bin", "chapter08_model"))
    parser.add_argument("--tokens", type=int, default=60)
    args = parser.parse_args()

    golden = read_safetensors(os.path.join(HERE, "data", "logits-llama4-bible.safetensors"))
    ids = [int(t) for t in golden["tokens"][:args.tokens]]
    # PyTorch's log p(next token) at positions 0..n-2.
    reference = golden["next_token_log_probability"][:args.tokens - 1]

    failures = 0
    with tempfile.TemporaryDirectory() as work:
        helper = os.path.join(work, "llama_cpp_logits")
        build_helper(args.lib, args.include, helper)
        print(f"{args.tokens} tokens of the validation passage; log p(next token) against PyTorch's")
        print(f"{'file':<10} {'engine':<16} {'max |Δ log p|':>14} {'mean |Δ log p|':>15} "
              f"{'max |Δ logit| vs llama.cpp':>27}")
        # f32 weights: llama.cpp computes in f32 too, so both engines must agree with PyTorch closely.
        # bf16 weights: llama.cpp rounds the activations to bf16 before each product (we keep them
        # f32); Q8_0: it rounds them to 8-bit blocks, and the weights are quantized. Hence the
        # looser bounds; a wrong layout (a transposed expert, gate and up swapped) moves log p by
        # whole nats, not hundredths.
        for kind, tolerance in (("f32", 1e-4), ("bf16", 0.05), ("q8_0", 0.25)):
            model = os.path.join(work, f"bible-{kind}.gguf")
            write(os.path.join(HERE, "llama4-bible"), model, kind, 1, False)
            results = {}
            for engine, command in (
                    ("llama.cpp", [helper, model, args.lib, os.path.join(work, "a.bin")] + [str(i) for i in ids]),
                    ("chapter08_model", [args.program, "--model", model, "--tokens", ",".join(map(str, ids)),
                                         "--dump-logits", os.path.join(work, "b.bin"), "--no-touch"])):
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                out = os.path.join(work, "a.bin" if engine == "llama.cpp" else "b.bin")
                results[engine] = np.fromfile(out, dtype=np.float32).reshape(len(ids), -1)
            for engine, logits in results.items():
                log_p = log_softmax(logits.astype(np.float64))[np.arange(len(ids) - 1), ids[1:]]
                difference = np.abs(log_p - reference)
                vs_llama_cpp = np.abs(logits - results["llama.cpp"]).max()
                ok = difference.max() <= tolerance
                failures += not ok
                print(f"{kind:<10} {engine:<16} {difference.max():>14.2e} {difference.mean():>15.2e} "
                      f"{vs_llama_cpp:>27.2e}  {'ok' if ok else 'FAIL (tolerance %g)' % tolerance}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
