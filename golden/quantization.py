#!/usr/bin/env python3
"""Golden blocks for chapter 12: llama.cpp's reference quantization formulas, written in numpy.

    /usr/bin/python3 golden/quantization.py      # writes golden/data/quantization.safetensors

Our C++ quantizer (common/quantization/block_formats.cpp) must produce exactly llama.cpp's bytes,
so that a block we write is a block llama.cpp reads. This script implements llama.cpp's reference
formulas (ggml-quants.c: quantize_row_q8_0_ref, quantize_row_q4_0_ref, quantize_row_q4_1_ref) a
second time, independently, in numpy, with every float32 operation in float32 as C does it:

  Q8_0  d = max|x| / 127            q = roundf(x * (1/d))              (ties away from zero)
  Q4_0  d = x_extreme / -8          q = min(15, (int8)(x * (1/d) + 8.5f))   x_extreme: largest |x|,
                                                                              with its sign
  Q4_1  d = (max - min) / 15, m = min
                                    q = min(15, (int8)((x - min) * (1/d) + 0.5f))

d and m are stored as f16 (round to nearest even); 1/d is taken from the float32 d, before that
rounding. A Q4 block's byte j holds element j in its low nibble and element j + 16 in its high one.
golden/check_llama_cpp_quantization.py compares these bytes with llama.cpp's own library.

It writes, for R rows of 256 values (8 blocks each), chosen to reach the edge cases:
  input          F32 [R, 256]
  q8_0, q4_0, q4_1           U8 [R, 8 * 34 | 8 * 18 | 8 * 20]   the blocks, row after row
  q8_0_dequantized, ...      F32 [R, 256]                       what the blocks decode to
"""
import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from safetensors_io import write_safetensors  # noqa: E402

BLOCK = 32
F32 = np.float32


def f16_bits(value):
    """float32 -> the 2 bytes of its f16 rounding (numpy rounds to nearest even)."""
    return np.array([value], dtype=np.float32).astype(np.float16).tobytes()


def f16_value(value):
    return F32(np.array([value], dtype=np.float32).astype(np.float16)[0])


def round_half_away(x):
    """C's roundf on a float32: ties away from zero (np.round would round ties to even). Done in
    float64, where |x| + 0.5 is exact for every float32 x."""
    x = np.float64(x)
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def trunc_to_int8(x):
    """C's (int8_t) cast of a float in [0, 17): truncation toward zero."""
    return int(np.trunc(np.float64(x)))


def quantize_q8_0(block):
    amax = F32(np.max(np.abs(block)))
    d = F32(amax / F32(127))
    inverse = F32(F32(1) / d) if d != 0 else F32(0)
    q = [int(round_half_away(F32(v * inverse))) for v in block]
    data = f16_bits(d) + np.array(q, dtype=np.int8).tobytes()
    return data, np.array([f16_value(d) * F32(v) for v in q], dtype=np.float32)


def nibbles(q):
    return bytes((q[j] | (q[j + 16] << 4)) for j in range(16))


def quantize_q4_0(block):
    amax, extreme = F32(0), F32(0)
    for v in block:  # the first element of the largest magnitude, with its sign
        if amax < abs(v):
            amax, extreme = F32(abs(v)), F32(v)
    d = F32(extreme / F32(-8))
    inverse = F32(F32(1) / d) if d != 0 else F32(0)
    q = [min(15, trunc_to_int8(F32(F32(v * inverse) + F32(8.5)))) for v in block]
    data = f16_bits(d) + nibbles(q)
    return data, np.array([f16_value(d) * F32(v - 8) for v in q], dtype=np.float32)


def quantize_q4_1(block):
    low, high = F32(np.min(block)), F32(np.max(block))
    d = F32(F32(high - low) / F32(15))
    inverse = F32(F32(1) / d) if d != 0 else F32(0)
    q = [min(15, trunc_to_int8(F32(F32(F32(v - low) * inverse) + F32(0.5)))) for v in block]
    data = f16_bits(d) + f16_bits(low) + nibbles(q)
    return data, np.array([f16_value(d) * F32(v) + f16_value(low) for v in q], dtype=np.float32)


FORMATS = {"q8_0": quantize_q8_0, "q4_0": quantize_q4_0, "q4_1": quantize_q4_1}


def quantize_rows(rows, quantize_block):
    packed, decoded = [], []
    for row in rows:
        row_bytes, row_values = b"", []
        for b in range(0, len(row), BLOCK):
            data, values = quantize_block(row[b:b + BLOCK])
            row_bytes += data
            row_values.append(values)
        packed.append(np.frombuffer(row_bytes, dtype=np.uint8))
        decoded.append(np.concatenate(row_values))
    return np.stack(packed), np.stack(decoded)


def input_rows():
    """Rows of 256 values: random weights at several scales, and the edge cases, a block each."""
    rng = np.random.RandomState(12)
    rows = [rng.standard_normal(256) * scale for scale in (0.02, 1.0, 30.0)]
    rows.append(rng.standard_normal(256) * 0.02 + 0.05)  # weights not centred on zero (Q4_1's case)
    edge = np.zeros(256)  # block 0 stays all zero
    edge[32:64] = rng.standard_normal(32) * 0.01
    edge[40] = 3.0  # block 1: one huge outlier
    edge[64:96] = np.linspace(-1, 1, 32)  # block 2: evenly spread, both extremes as large
    edge[96:128] = -np.abs(rng.standard_normal(32))  # block 3: all negative
    edge[128:160] = np.arange(32) - 16.0  # block 4: integers; x / d lands on .5 ties for Q8_0
    edge[160:192] = rng.standard_normal(32) * 1e-6  # block 5: a scale in f16's subnormal range
    edge[192:224] = 7.0  # block 6: constant (Q4_1: d = 0)
    edge[224:256] = rng.standard_normal(32) * 500.0  # block 7: large weights
    rows.append(edge)
    ties = np.zeros(256)  # values on the rounding boundaries, where the formulas' details show
    ties[0:32] = -8.0 + 0.5 * np.arange(32)  # Q4_0 with d = 1: x + 8.5 lands on integers
    ties[32:64] = np.minimum(0.5 * np.arange(32), 15.0)  # Q4_1 with d = 1, m = 0
    ties[64] = 127.0  # Q8_0 with d = 1; then just under and just over the .5 boundary
    ties[65:69] = [np.float32(0.49999997), -np.float32(0.49999997), 2.5, -2.5]
    ties[96] = 8.0  # Q4_0 with a positive extreme: d = -1, and -8 is clamped from 16 to 15
    ties[97] = -8.0
    rows.append(ties)
    return np.stack(rows).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(HERE, "data", "quantization.safetensors"))
    args = parser.parse_args()
    rows = input_rows()
    tensors, dtypes = {"input": rows}, {}
    for name, quantize_block in FORMATS.items():
        packed, decoded = quantize_rows(rows, quantize_block)
        tensors[name], dtypes[name] = packed, "U8"
        tensors[name + "_dequantized"] = decoded
    write_safetensors(args.out, tensors, dtypes=dtypes)
    print(f"wrote {args.out}: {rows.shape[0]} rows of {rows.shape[1]} values in "
          f"{', '.join(FORMATS)}")


if __name__ == "__main__":
    main()
