"""Reading and validating a safetensors header before any tensor data is read.

A safetensors file (https://github.com/huggingface/safetensors) is an 8-byte little-endian header
length N, N bytes of UTF-8 JSON mapping each tensor name to ``{"dtype", "shape", "data_offsets"}``
(plus an optional ``"__metadata__"`` of strings), then the tensors' bytes. Both backends read such
files (the ONNX backend into numpy, the PyTorch backend into torch); this module is the one place
that decides whether a header can be trusted, so that both refuse the same files with the same
words. It imports the standard library only, so any layer may use it.

What :func:`read_header` guarantees once it returns: the header length is within
:data:`MAX_HEADER_BYTES` (or the caller's tighter bound) and within the file, the header is UTF-8
JSON without duplicate keys, every entry has a known dtype, a shape of non-negative integers and
integer offsets whose length is exactly the shape's byte size, and the tensors tile the data
section with no overlap, no gap and nothing past the end (as the reference implementation
requires). Only the header is read, never the data, so a hostile file costs at most the header's
size in memory. Problems raise :class:`HeaderError`, a ``ValueError`` whose message says what is
wrong without naming the file (the caller adds it to its diagnostic).

(A later change may replace the readers with the ``safetensors`` package; the checks here are the
ones it makes.)
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Collection
from dataclasses import dataclass
from typing import IO, Any

__all__ = ["DTYPE_SIZES", "MAX_HEADER_BYTES", "Entry", "Header", "HeaderError", "read_header"]

MAX_HEADER_BYTES = 100_000_000
"""The safetensors specification's bound on the JSON header."""

MAX_NDIM = 32

DTYPE_SIZES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}
"""Bytes per element of every dtype the format defines."""

_KEYS = ("dtype", "shape", "data_offsets")


class HeaderError(ValueError):
    """The file is not a valid safetensors file; the message says why."""


@dataclass(slots=True)
class Entry:
    """One tensor of the header. ``offset`` is absolute (from the start of the file)."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    offset: int
    nbytes: int

    @property
    def count(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Header:
    entries: dict[str, Entry]
    """In header order."""
    metadata: dict[str, str]
    data_start: int


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):  # rare: find the culprit
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise HeaderError(f"the header has the key {key!r} twice")
            seen.add(key)
    return out


def _reject_constant(name: str) -> None:
    raise HeaderError(f"the header holds {name}, which is not JSON")


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _read_exactly(fh: IO[bytes], n: int) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise HeaderError(f"the file ends after {len(data):,} of the header's {n:,} bytes")
    return data


def read_header(
    fh: IO[bytes],
    file_size: int,
    *,
    max_header: int = MAX_HEADER_BYTES,
    supported: Collection[str] | None = None,
) -> Header:
    """Read and validate the header of the safetensors file open as ``fh`` (``file_size`` bytes).

    ``max_header`` may tighten the bound on the header's length (a caller that knows how many
    tensors to expect); ``supported`` restricts the dtypes to those the caller can convert.
    Reads 8 + header-length bytes from the start of ``fh``, nothing more.
    """
    fh.seek(0)
    if file_size < 8:
        raise HeaderError(f"the file is {file_size} bytes, too short for a safetensors header (8 bytes of length)")
    (n,) = struct.unpack("<Q", _read_exactly(fh, 8))
    limit = min(max_header, MAX_HEADER_BYTES)
    if n > limit:
        raise HeaderError(f"the header length is {n:,} bytes, above the limit of {limit:,}")
    if 8 + n > file_size:
        raise HeaderError(f"the header length ({n:,} bytes) runs past the end of the file ({file_size:,} bytes)")
    raw = _read_exactly(fh, n)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HeaderError(f"the header is not UTF-8 (byte {exc.start} of the header)") from None
    try:
        header = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
    except HeaderError:
        raise
    except RecursionError:
        raise HeaderError("the header is JSON nested too deeply") from None
    except ValueError as exc:
        raise HeaderError(f"the header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise HeaderError(f"the header is a JSON {_kind(header)}, not an object of tensors")
    data_start = 8 + n
    metadata = _metadata(header.get("__metadata__", {}))
    entries: dict[str, Entry] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        entries[name] = _entry(name, info, data_start, supported)
    _check_tiling(entries, data_start, file_size)
    return Header(entries, metadata, data_start)


def _kind(v: object) -> str:
    return {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(v), "null")


def _metadata(meta: object) -> dict[str, str]:
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise HeaderError("the header's __metadata__ must be an object of strings")
    return meta


def _entry(name: str, info: object, data_start: int, supported: Collection[str] | None) -> Entry:
    where = f"tensor {name!r}"
    if not isinstance(info, dict):
        raise HeaderError(f"{where}: the header gives a JSON {_kind(info)}, not an object with {', '.join(_KEYS)}")
    missing = [k for k in _KEYS if k not in info]
    if missing:
        raise HeaderError(f"{where}: the header has no {', '.join(repr(k) for k in missing)}")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPE_SIZES:
        raise HeaderError(f"{where}: unknown dtype {dtype!r} (the format defines {', '.join(DTYPE_SIZES)})")
    if supported is not None and dtype not in supported:
        raise HeaderError(f"{where}: dtype {dtype}, which this reader does not support ({', '.join(supported)})")
    if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
        raise HeaderError(f"{where}: the shape must be a list of non-negative integers, got {_short(shape)}")
    if len(shape) > MAX_NDIM:
        raise HeaderError(f"{where}: {len(shape)} dimensions, more than {MAX_NDIM}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) and o >= 0 for o in offsets)):
        raise HeaderError(
            f"{where}: data_offsets must be two non-negative integers [begin, end], got {_short(offsets)}"
        )
    begin, end = offsets
    if end < begin:
        raise HeaderError(f"{where}: data_offsets [{begin}, {end}] end before they begin")
    nbytes = math.prod(shape) * DTYPE_SIZES[dtype]
    if end - begin != nbytes:
        raise HeaderError(
            f"{where}: shape {shape} of {dtype} needs {nbytes:,} bytes, its data_offsets give {end - begin:,}"
        )
    return Entry(name, dtype, tuple(shape), data_start + begin, nbytes)


def _short(v: object) -> str:
    text = json.dumps(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_tiling(entries: dict[str, Entry], data_start: int, file_size: int) -> None:
    """The tensors must cover the data section exactly: no overlap, no gap, nothing past the end."""
    size = file_size - data_start
    pos = data_start
    prev: Entry | None = None
    for e in sorted(entries.values(), key=lambda e: (e.offset, e.nbytes)):
        if e.offset < pos:
            assert prev is not None
            raise HeaderError(f"tensors {prev.name!r} and {e.name!r} overlap in the file")
        if e.offset > pos:
            raise HeaderError(f"{e.offset - pos:,} bytes before tensor {e.name!r} belong to no tensor")
        if e.offset + e.nbytes > file_size:
            raise HeaderError(
                f"tensor {e.name!r} runs past the end of the file (bytes {e.offset - data_start:,} to "
                f"{e.offset - data_start + e.nbytes:,} of {size:,}): the file is truncated or the header wrong"
            )
        pos = e.offset + e.nbytes
        prev = e
    if pos != file_size:
        raise HeaderError(f"{file_size - pos:,} bytes after the last tensor belong to no tensor")
