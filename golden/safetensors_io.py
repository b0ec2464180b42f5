"""Tiny, dependency-free safetensors reader/writer (numpy only).

File layout (https://github.com/huggingface/safetensors, "Format"):

    [8 bytes]  N = header length, unsigned 64-bit little-endian
    [N bytes]  UTF-8 JSON: {"__metadata__": {...},
                            name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
    [rest]     raw little-endian tensor bytes; offsets are relative to the start of this section

Choices made by our writer so that files are byte-identical run to run:
  * tensors are laid out sorted by name, back to back (contiguous offsets, no gaps);
  * the JSON has sorted keys and no whitespace; it is padded with spaces to a multiple of
    8 bytes (the reference Rust implementation does the same, so data starts 8-aligned);
  * `__metadata__` is {"format": "pt"} like files written by PyTorch users of safetensors.

bf16 has no numpy dtype: it is stored as the upper 16 bits of the float32 bit pattern.
  * writing: float32 -> bf16 with round-to-nearest-even (what torch's .to(torch.bfloat16) does);
  * reading: bf16 -> float32 is exact (shift the 16 bits back up), so a C++ reader that widens
    bf16 by `uint32(bits) << 16` sees exactly the float32 values the Python reference uses.
"""

import json
import struct

import numpy as np

# safetensors dtype name -> numpy dtype of the stored element (bf16 is handled as raw uint16).
_STORAGE = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("u1"),
}


def f32_to_bf16_bits(x):
    """float32 array -> uint16 bf16 bit patterns, round-to-nearest-even; NaN stays (quiet) NaN."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    bits = x.view(np.uint32).astype(np.uint64)
    # Round to nearest even: add 0x7FFF plus the lowest kept bit, then truncate the low 16 bits.
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        rounded[nan] = ((bits[nan] >> 16).astype(np.uint16) | 0x0040)  # keep sign, force quiet bit
    return rounded


def bf16_bits_to_f32(bits):
    """uint16 bf16 bit patterns -> float32 (exact)."""
    bits = np.ascontiguousarray(bits, dtype=np.uint16)
    return (bits.astype(np.uint32) << 16).view(np.float32)


def round_to_bf16(x):
    """float32 -> the nearest bf16 value, returned as float32 (what a bf16 checkpoint will hold)."""
    return bf16_bits_to_f32(f32_to_bf16_bits(x)).reshape(np.shape(x))


def _default_dtype(array, float_dtype):
    if array.dtype == np.float32 or array.dtype == np.float64:
        return float_dtype
    if array.dtype == np.int32:
        return "I32"
    if array.dtype == np.int64:
        return "I64"
    raise TypeError(f"unsupported numpy dtype {array.dtype}")


def encode_safetensors(tensors, float_dtype="F32", dtypes=None):
    """Serialise {name: numpy array} to safetensors bytes.

    float_dtype: how float arrays are stored, "F32" or "BF16" (converted with RNE).
    dtypes: optional {name: safetensors dtype} overriding the default for single tensors.
    """
    dtypes = dtypes or {}
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        array = np.asarray(tensors[name])
        dtype = dtypes[name] if name in dtypes else _default_dtype(array, float_dtype)
        if dtype == "BF16":
            data = f32_to_bf16_bits(array.astype(np.float32)).tobytes()
        elif dtype in _STORAGE:
            data = np.ascontiguousarray(array, dtype=_STORAGE[dtype]).tobytes()
        else:
            raise ValueError(f"unsupported safetensors dtype {dtype}")
        header[name] = {
            "dtype": dtype,
            "shape": [int(d) for d in array.shape],
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad with spaces so the data section starts 8-aligned
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def write_safetensors(path, tensors, float_dtype="F32", dtypes=None):
    """Write {name: numpy array} to `path` (see encode_safetensors)."""
    with open(path, "wb") as f:
        f.write(encode_safetensors(tensors, float_dtype=float_dtype, dtypes=dtypes))


def read_safetensors_header(path):
    """Return (header dict without __metadata__, metadata dict, data-section start offset)."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length).decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    return header, metadata, 8 + length


def read_safetensors(path, keep_bf16_bits=False):
    """Read a safetensors file into {name: numpy array}.

    bf16 tensors are widened to float32 exactly (unless keep_bf16_bits, which returns uint16).
    """
    header, _, start = read_safetensors_header(path)
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read()
    out = {}
    for name, info in header.items():
        dtype = info["dtype"]
        if dtype not in _STORAGE:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {dtype}")
        begin, end = info["data_offsets"]
        array = np.frombuffer(data[begin:end], dtype=_STORAGE[dtype]).reshape(info["shape"])
        if dtype == "BF16" and not keep_bf16_bits:
            array = bf16_bits_to_f32(array).reshape(info["shape"])
        elif dtype == "BOOL":
            array = array.astype(bool)
        else:
            array = array.copy()  # own the memory (frombuffer views are read-only)
        out[name] = array
    return out
