"""A small reader and writer of the safetensors format, on numpy only.

The format (https://github.com/huggingface/safetensors) is an 8-byte little-endian header length,
a JSON header mapping each tensor name to its dtype, shape and byte range, then the raw
little-endian data. Reading it needs neither torch nor the ``safetensors`` package, which keeps the
ONNX path free of both; files written by ``safetensors.torch.save_file`` load here unchanged.

Reading validates the whole header first (:mod:`archdsl.safetensors_header`, shared with the
PyTorch backend) and then reads each tensor straight into its numpy array, only when asked
(:func:`open_tensors`), so a hostile file costs no more memory than its header until its shapes
have been checked. The writer is deterministic (names sorted, header padded to 8 bytes with
spaces) and streams the arrays' buffers into the file without copying them.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from archdsl.fileio import InputError, atomic_write, open_input
from archdsl.safetensors_header import MAX_HEADER_BYTES, Entry, HeaderError, read_header

from .stored import Stored, read_into

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
SUPPORTED = (*_DTYPES, "BF16")


class SafetensorsError(ValueError):
    pass


def open_tensors(fh: IO[bytes], max_header: int = MAX_HEADER_BYTES) -> dict[str, Stored]:
    """The tensors of the safetensors file open as ``fh``, validated but not yet read.

    Raises :class:`HeaderError` (a ``ValueError``) for a malformed file. ``fh`` must stay open
    until the tensors are loaded.
    """
    size = os.fstat(fh.fileno()).st_size
    header = read_header(fh, size, max_header=max_header, supported=SUPPORTED)
    return {name: Stored(e.shape, e.dtype, _loader(fh, e)) for name, e in header.entries.items()}


def _loader(fh: IO[bytes], e: Entry):
    def load() -> np.ndarray:
        if e.dtype == "BF16":  # widened to float32: the high half of each float32's bits
            bits = read_into(fh, e.offset, np.empty(e.count, dtype="<u2"))
            arr = (bits.astype(np.uint32) << 16).view(np.float32)
        else:
            arr = read_into(fh, e.offset, np.empty(e.count, dtype=_DTYPES[e.dtype]))
        return arr.reshape(e.shape)

    return load


def load(path: str | Path) -> dict[str, np.ndarray]:
    """All tensors of a safetensors file as numpy arrays (bfloat16 widened to float32)."""
    try:
        with open_input(path) as fh:
            return {name: t.load() for name, t in open_tensors(fh).items()}
    except (HeaderError, InputError) as exc:
        raise SafetensorsError(str(exc)) from None


def _chunks(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None) -> Iterator[bytes | memoryview]:
    """The file's bytes: the header, then each tensor's buffer (not copied when already little-endian)."""
    header: dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in sorted(metadata.items())}
    arrays = []
    offset = 0
    for name in sorted(tensors):
        arr = tensors[name]
        dt = arr.dtype.newbyteorder("<") if arr.dtype.byteorder == ">" else arr.dtype
        if dt not in _NAMES:
            raise SafetensorsError(f"tensor {name!r} has dtype {arr.dtype}, which this writer does not support")
        arr = np.ascontiguousarray(arr, dtype=dt)
        header[name] = {"dtype": _NAMES[dt], "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        arrays.append(arr)
        offset += arr.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    yield struct.pack("<Q", len(text)) + text
    for arr in arrays:
        if arr.nbytes:
            yield memoryview(arr.reshape(-1)).cast("B")


def dumps(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> bytes:
    """Serialise ``tensors`` (sorted by name) to safetensors bytes."""
    return b"".join(bytes(c) for c in _chunks(tensors, metadata))


def digest(tensors: dict[str, np.ndarray], hasher) -> None:
    """Feed the bytes :func:`dumps` would give into ``hasher`` (a hashlib object), without building them."""
    for chunk in _chunks(tensors, None):
        hasher.update(chunk)


def save(tensors: dict[str, np.ndarray], path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Write ``tensors`` to ``path`` atomically (:func:`archdsl.fileio.atomic_write`)."""
    chunks = list(_chunks(tensors, metadata))  # validates every dtype before the file is created

    def write(fh: IO[bytes]) -> None:
        for chunk in chunks:
            fh.write(chunk)

    return atomic_write(path, write)
