"""A small reader and writer of the safetensors format, on numpy only.

The format (https://github.com/huggingface/safetensors) is an 8-byte little-endian header length,
a JSON header mapping each tensor name to its dtype, shape and byte range, then the raw
little-endian data. Reading it needs neither torch nor the ``safetensors`` package, which keeps the
ONNX path free of both; files written by ``safetensors.torch.save_file`` load here unchanged.
The writer is deterministic: names sorted, header padded to 8 bytes with spaces.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
_NAMES = {v: k for k, v in _DTYPES.items()}


class SafetensorsError(ValueError):
    pass


def load(path: str | Path) -> dict[str, np.ndarray]:
    """All tensors of a safetensors file as numpy arrays (bfloat16 widened to float32)."""
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise SafetensorsError("file too short for a safetensors header")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise SafetensorsError("header length exceeds the file size")
    try:
        header = json.loads(data[8 : 8 + n])
    except ValueError as exc:
        raise SafetensorsError(f"header is not JSON: {exc}") from None
    body = memoryview(data)[8 + n :]
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, shape, (lo, hi) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
        if not 0 <= lo <= hi <= len(body):
            raise SafetensorsError(f"tensor {name!r}: byte range {lo}..{hi} is outside the file")
        raw = body[lo:hi]
        if dtype == "BF16":
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = bits.view(np.float32)
        elif dtype in _DTYPES:
            arr = np.frombuffer(raw, dtype=_DTYPES[dtype])
        else:
            raise SafetensorsError(f"tensor {name!r} has dtype {dtype}, which this reader does not support")
        count = int(np.prod(shape, dtype=np.int64))
        if arr.size != count:
            raise SafetensorsError(f"tensor {name!r}: {arr.size} values for shape {list(shape)}")
        out[name] = arr.reshape(shape).copy()
    return out


def dumps(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> bytes:
    """Serialise ``tensors`` (sorted by name) to safetensors bytes."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in sorted(metadata.items())}
    chunks: list[bytes] = []
    offset = 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        dt = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
        if dt not in _NAMES:
            raise SafetensorsError(f"tensor {name!r} has dtype {arr.dtype}, which this writer does not support")
        raw = arr.astype(dt, copy=False).tobytes()
        header[name] = {"dtype": _NAMES[dt], "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save(tensors: dict[str, np.ndarray], path: str | Path, metadata: dict[str, str] | None = None) -> None:
    Path(path).write_bytes(dumps(tensors, metadata))
