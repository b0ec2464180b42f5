#!/usr/bin/env python3
"""Cross-check our Q8_0 / Q4_0 / Q4_1 block quantization against llama.cpp's own library.

What it checks
--------------
The golden file (default golden/data/quantization.safetensors) holds

    "input"  F32 [R, C]                 C a multiple of 32
    "q8_0"   U8  [R, C/32*34]           raw block_q8_0 (f16 d, 32 x int8)           row after row
    "q4_0"   U8  [R, C/32*18]           raw block_q4_0 (f16 d, 16 bytes of nibbles)  row after row
    "q4_1"   U8  [R, C/32*20]           raw block_q4_1 (f16 d, f16 m, 16 bytes)      row after row

For each format the script

  1. quantizes "input" with llama.cpp's own `ggml_quantize_chunk(type, src, dst, 0, R, C, NULL)`
     (called through ctypes from libggml-base.so) and compares the bytes with the golden tensor
     byte for byte: it prints the number of blocks, how many differ, and for the first differing
     block its index, both byte strings and both decodings;
  2. dequantizes the *golden* blocks twice, with llama.cpp's `to_float` (from
     `ggml_get_type_traits`, the struct layout checked against the type's name and sizes; the
     exported `dequantize_row_<type>` is used if the layout does not check out) and with an
     independent numpy decoding of the layout:
         q8_0: d*q                 (q int8)
         q4_0: (q - 8)*d           (q the nibble: element j in the low 4 bits of byte j,
         q4_1: q*d + m              element j+16 in the high 4 bits of byte j)
     and reports the max |difference| (expected 0: both are float32 with one rounding per op);
  3. if the golden file also holds "<format>_dequantized" (F32 [R, C], our own dequantization of
     the golden blocks), compares it with llama.cpp's to_float output the same way.

Exit status 0 only if every byte of every format matches llama.cpp and the dequantizations
agree exactly (NaN matching NaN, inf matching the same inf); 1 otherwise, 2 on a usage error.

How to get the library (no build needed: llama.cpp ships prebuilt in npm)
--------------------------------------------------------------------------
    mkdir -p /tmp/llamacpp && cd /tmp/llamacpp && \
        npm install --ignore-scripts node-llama-cpp @node-llama-cpp/linux-x64
    # the libraries are then in
    #   /tmp/llamacpp/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/
    # (libggml-base.so, libggml-cpu-*.so, libggml.v0.5.0.so, libllama.v0.5.0.so)

Only libggml-base.so is needed: ggml_quantize_chunk, the reference quantizers
(quantize_row_q8_0_ref, ...), the dequantizers and ggml_get_type_traits all live there, and no
backend has to be loaded (ggml_quantize_init is called by ggml_quantize_chunk itself and does
work only for the IQ types). That library is plain x86-64 (SSE2, no FMA, software f16
conversion), so the numpy decoding can be bit-exact.

Version used when this script was written: @node-llama-cpp/linux-x64 3.22.1 (node-llama-cpp
3.22.1, llama.cpp release tag "v0.5.0" as node-llama-cpp names it), ggml_version() "0.25.1",
ggml_commit() "0ad4a86". Type ids checked there with ggml_type_name: Q4_0 = 2, Q4_1 = 3,
Q8_0 = 8 (the script checks them again against the library it loads).

Usage (from the repository root, with the Debian interpreter, which has numpy):
    /usr/bin/python3 golden/check_llama_cpp_quantization.py \
        --lib /tmp/llamacpp/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64 \
        [--golden golden/data/quantization.safetensors]

Facts about llama.cpp's reference quantizers worth knowing when matching them (this version):
  * the f16 scale is stored rounded to nearest even, but the values are quantized with the
    float32 scale (id = 1/d with d = amax/127, max/-8 or (max-min)/15 in float32), not with the
    stored f16 one; q4_1 likewise subtracts the float32 min, while m is stored as f16;
  * q8_0 rounds with roundf (ties away from zero); q4_0 and q4_1 round with (int8_t)(x + 8.5f)
    and (int8_t)(x + 0.5f), i.e. a float32 addition (itself rounded: x = 0.49999997 gives
    8.5f + x == 9.0f) then truncation, which is round-half-up for the values that occur, then
    MIN(15, .) (q4_0: the element equal to -max gives 16 -> 15);
  * q4_0's d = max/-8 takes the sign of the element of largest magnitude (the first one in the
    block on ties of |x|), so d is negative when that element is positive;
  * an all-zero block gives d = 0, id = 0, all quants 0 (q4_0: nibble 8);
  * NaN is not handled (float->int conversion of NaN is undefined behaviour in C).
"""

import argparse
import ctypes
import glob
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from safetensors_io import read_safetensors  # noqa: E402

QK = 32
# name -> (expected ggml type id, block bytes)
FORMATS = {
    "q8_0": (8, 34),
    "q4_0": (2, 18),
    "q4_1": (3, 20),
}


class GgmlTypeTraits(ctypes.Structure):
    # ggml.h of ggml 0.25.1 (llama.cpp as shipped by node-llama-cpp 3.22.1):
    #   const char * type_name; int64_t blck_size; int64_t blck_size_interleave;
    #   size_t type_size; bool is_quantized; ggml_to_float_t to_float; ggml_from_float_t from_float_ref;
    _fields_ = [
        ("type_name", ctypes.c_char_p),
        ("blck_size", ctypes.c_int64),
        ("blck_size_interleave", ctypes.c_int64),
        ("type_size", ctypes.c_size_t),
        ("is_quantized", ctypes.c_bool),
        ("to_float", ctypes.c_void_p),
        ("from_float_ref", ctypes.c_void_p),
    ]


TO_FLOAT_T = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)


def find_base_library(lib_dir):
    for pattern in ("libggml-base.so", "libggml-base.so.*", "libggml-base*.so"):
        hits = sorted(glob.glob(os.path.join(lib_dir, pattern)))
        if hits:
            return hits[0]
    return None


class Ggml:
    def __init__(self, path):
        self.path = path
        self.lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        lib = self.lib
        lib.ggml_quantize_chunk.restype = ctypes.c_size_t
        lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                            ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                                            ctypes.c_void_p]
        lib.ggml_row_size.restype = ctypes.c_size_t
        lib.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]
        lib.ggml_type_name.restype = ctypes.c_char_p
        lib.ggml_type_name.argtypes = [ctypes.c_int]
        lib.ggml_type_size.restype = ctypes.c_size_t
        lib.ggml_type_size.argtypes = [ctypes.c_int]
        lib.ggml_blck_size.restype = ctypes.c_int64
        lib.ggml_blck_size.argtypes = [ctypes.c_int]
        lib.ggml_get_type_traits.restype = ctypes.POINTER(GgmlTypeTraits)
        lib.ggml_get_type_traits.argtypes = [ctypes.c_int]

    def version(self):
        parts = []
        for fn in ("ggml_version", "ggml_commit"):
            f = getattr(self.lib, fn, None)
            if f is not None:
                f.restype = ctypes.c_char_p
                parts.append(f"{fn}()={f().decode(errors='replace')}")
        return ", ".join(parts) or "no version symbol"

    def check_type(self, name, type_id, block_bytes):
        got_name = self.lib.ggml_type_name(type_id)
        got_name = got_name.decode(errors="replace") if got_name else None
        blck = self.lib.ggml_blck_size(type_id)
        size = self.lib.ggml_type_size(type_id)
        if got_name != name or blck != QK or size != block_bytes:
            raise SystemExit(f"error: ggml type {type_id} is {got_name!r} (block {blck}, {size} bytes), "
                             f"expected {name!r} (block {QK}, {block_bytes} bytes): "
                             "the type ids differ in this ggml version")

    def quantize(self, type_id, x):
        rows, cols = x.shape
        row_size = self.lib.ggml_row_size(type_id, cols)
        dst = np.zeros(rows * row_size, dtype=np.uint8)
        src = np.ascontiguousarray(x, dtype=np.float32)
        written = self.lib.ggml_quantize_chunk(type_id, src.ctypes.data, dst.ctypes.data,
                                               0, rows, cols, None)
        if written != rows * row_size:
            raise SystemExit(f"error: ggml_quantize_chunk wrote {written} bytes, expected {rows * row_size}")
        return dst.reshape(rows, row_size)

    def to_float(self, name, type_id, block_bytes):
        """(callable(bytes uint8 array, n) -> float32 array, description)."""
        traits = self.lib.ggml_get_type_traits(type_id).contents
        ok = (traits.type_name is not None and traits.type_name.decode(errors="replace") == name
              and traits.blck_size == QK and traits.type_size == block_bytes
              and traits.is_quantized and traits.to_float)
        if ok:
            fn = TO_FLOAT_T(traits.to_float)
            how = "ggml_get_type_traits(%d)->to_float" % type_id
        else:
            sym = getattr(self.lib, "dequantize_row_" + name)
            fn = TO_FLOAT_T(ctypes.cast(sym, ctypes.c_void_p).value)
            how = "dequantize_row_%s (type traits layout did not check out)" % name

        def run(blocks, n):
            blocks = np.ascontiguousarray(blocks, dtype=np.uint8)
            out = np.empty(n, dtype=np.float32)
            fn(blocks.ctypes.data, out.ctypes.data, n)
            return out

        return run, how


def decode_blocks(name, raw):
    """raw uint8 [nblocks, block_bytes] -> dict of fields (numpy)."""
    d = raw[:, 0:2].copy().view("<f2")[:, 0]
    if name == "q8_0":
        return {"d": d, "q": raw[:, 2:34].copy().view(np.int8)}
    if name == "q4_0":
        qs = raw[:, 2:18]
        return {"d": d, "q": np.concatenate([qs & 0x0F, qs >> 4], axis=1)}
    if name == "q4_1":
        m = raw[:, 2:4].copy().view("<f2")[:, 0]
        qs = raw[:, 4:20]
        return {"d": d, "m": m, "q": np.concatenate([qs & 0x0F, qs >> 4], axis=1)}
    raise ValueError(name)


def numpy_dequantize(name, raw):
    f = decode_blocks(name, raw)
    d = f["d"].astype(np.float32)[:, None]
    q = f["q"].astype(np.int32)
    with np.errstate(invalid="ignore", over="ignore"):
        if name == "q8_0":
            y = q.astype(np.float32) * d
        elif name == "q4_0":
            y = (q - 8).astype(np.float32) * d
        else:
            y = q.astype(np.float32) * d + f["m"].astype(np.float32)[:, None]
    return y.astype(np.float32).reshape(-1)


def describe_block(name, block):
    f = decode_blocks(name, block[None, :])
    text = f"d={float(f['d'][0])!r} (0x{int(f['d'].view(np.uint16)[0]):04x})"
    if "m" in f:
        text += f" m={float(f['m'][0])!r} (0x{int(f['m'].view(np.uint16)[0]):04x})"
    return text + " q=" + " ".join(str(int(v)) for v in f["q"][0])


def compare_dequant(a, b):
    """(number of elements not identical, max |a-b|) with NaN==NaN and equal infs counted equal."""
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    bad = ~same
    if not bad.any():
        return 0, 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a[bad].astype(np.float64) - b[bad].astype(np.float64))
    diff = np.where(np.isnan(diff), np.inf, diff)
    return int(bad.sum()), float(diff.max())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lib", required=True,
                        help="folder holding llama.cpp's libggml-base.so "
                             "(node_modules/@node-llama-cpp/linux-x64/bins/linux-x64)")
    parser.add_argument("--golden", default=os.path.join(HERE, "data", "quantization.safetensors"))
    args = parser.parse_args()

    path = find_base_library(args.lib)
    if path is None:
        print(f"error: no libggml-base*.so in {args.lib}", file=sys.stderr)
        return 2
    if not os.path.exists(args.golden):
        print(f"error: {args.golden} does not exist", file=sys.stderr)
        return 2
    ggml = Ggml(path)
    print(f"library: {path} ({ggml.version()})")

    tensors = read_safetensors(args.golden)
    if "input" not in tensors:
        print(f"error: {args.golden} has no tensor 'input'", file=sys.stderr)
        return 2
    x = np.ascontiguousarray(tensors["input"], dtype=np.float32)
    if tensors["input"].dtype != np.float32 or x.ndim != 2 or x.shape[1] % QK != 0:
        print(f"error: 'input' must be F32 [R, C] with C a multiple of {QK}, "
              f"got {tensors['input'].dtype} {list(tensors['input'].shape)}", file=sys.stderr)
        return 2
    rows, cols = x.shape
    nonfinite = int((~np.isfinite(x)).sum())
    print(f"golden: {args.golden}: input [{rows}, {cols}], {rows * cols // QK} blocks of {QK} per format"
          + (f", {nonfinite} non-finite inputs" if nonfinite else ""))

    all_ok = True
    for name, (type_id, block_bytes) in FORMATS.items():
        ggml.check_type(name, type_id, block_bytes)
        nblocks = rows * cols // QK
        if name not in tensors:
            print(f"{name}: MISSING from the golden file")
            all_ok = False
            continue
        golden = tensors[name]
        want_shape = (rows, cols // QK * block_bytes)
        if golden.dtype != np.uint8 or tuple(golden.shape) != want_shape:
            print(f"{name}: FAIL: golden tensor is {golden.dtype} {list(golden.shape)}, "
                  f"expected U8 {list(want_shape)}")
            all_ok = False
            continue

        ours = golden.reshape(nblocks, block_bytes)
        theirs = ggml.quantize(type_id, x).reshape(nblocks, block_bytes)
        differ = np.nonzero((ours != theirs).any(axis=1))[0]
        nbytes = int((ours != theirs).sum())
        status = "OK" if len(differ) == 0 else "FAIL"
        print(f"{name} (ggml type {type_id}, {block_bytes} bytes/block): {nblocks} blocks, "
              f"{len(differ)} differ ({nbytes} bytes) -> {status}")
        if len(differ):
            all_ok = False
            b = int(differ[0])
            r, c = divmod(b, cols // QK)
            print(f"  first differing block {b} (row {r}, elements {c * QK}..{c * QK + QK - 1}):")
            print(f"    golden   : {ours[b].tobytes().hex()}")
            print(f"    llama.cpp: {theirs[b].tobytes().hex()}")
            print(f"    golden    {describe_block(name, ours[b])}")
            print(f"    llama.cpp {describe_block(name, theirs[b])}")
            print("    input: " + " ".join(repr(float(v)) for v in x[r, c * QK:(c + 1) * QK]))

        to_float, how = ggml.to_float(name, type_id, block_bytes)
        deq_llama = to_float(ours, rows * cols)
        deq_numpy = numpy_dequantize(name, ours)
        count, worst = compare_dequant(deq_llama, deq_numpy)
        with np.errstate(invalid="ignore", over="ignore"):
            err = np.abs(deq_llama.reshape(rows, cols).astype(np.float64) - x)
        finite = np.isfinite(err)
        err_text = f"{float(err[finite].max()):.6g}" if finite.any() else "n/a"
        print(f"  dequantized golden blocks: llama.cpp {how} vs numpy: max |diff| = {worst!r}"
              f" ({count} elements differ) -> {'OK' if count == 0 else 'FAIL'};"
              f" max |dequantized - input| = {err_text}"
              + (f" ({int((~finite).sum())} non-finite)" if not finite.all() else ""))
        if count:
            all_ok = False

        # Optional: the golden file's own dequantization of its blocks, "<format>_dequantized".
        extra = name + "_dequantized"
        if extra in tensors:
            theirs_deq = tensors[extra]
            if theirs_deq.dtype != np.float32 or tuple(theirs_deq.shape) != (rows, cols):
                print(f"  {extra}: FAIL: is {theirs_deq.dtype} {list(theirs_deq.shape)}, "
                      f"expected F32 {[rows, cols]}")
                all_ok = False
            else:
                count, worst = compare_dequant(deq_llama, theirs_deq.reshape(-1))
                print(f"  {extra} vs llama.cpp's dequantization of the golden blocks: max |diff| = "
                      f"{worst!r} ({count} elements differ) -> {'OK' if count == 0 else 'FAIL'}")
                if count:
                    all_ok = False

    print("all formats match llama.cpp byte for byte" if all_ok else "MISMATCH")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
