"""safetensors files (https://github.com/huggingface/safetensors) through the ``safetensors``
package's numpy API: no torch, and no hand-written parser of the format.

Reading: :func:`open_tensors` opens the file with ``safe_open(framework="np")``, which validates
the whole header (JSON, dtypes, shapes against byte ranges with overflow checks, the tensors
tiling the data section exactly: a truncated file or a forged offset is refused) and memory-maps
the data, so a tensor costs memory only when it is loaded, after its shape has been checked
against the spec. Its errors become :class:`WeightsError` ("not a valid safetensors file: ...").
Two checks are made before the package sees the file, where it would otherwise do work first:

- the header's length against the bound the spec sets (``max_header``; the package's own bound is
  100 MB, whose JSON it would parse whole);
- the file is the one :func:`archdsl.fileio.open_input` checked: the package opens a path, and it
  is given ``/dev/fd/N`` of the open file, so a name swapped for a FIFO meanwhile cannot hang it.

bfloat16 (which numpy lacks) is widened to float32 from its raw bytes, located through the header
the package has already validated. Other dtypes numpy cannot hold, and those the backends cannot
use (unsigned 16-64 bit, float8, complex), are refused by name.

Writing: :func:`dumps` / :func:`save` use ``safetensors.numpy.save``. The package orders the tensors
deterministically but writes ``__metadata__`` from a hash map (in a different order in every
process); :func:`dumps` puts those entries back in sorted order (same length, same offsets), so
two compiles write identical files.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from archdsl.fileio import InputError, atomic_write, open_input
from archdsl.weights.errors import WeightsError
from archdsl.weights.stored import Stored, read_into

MAX_HEADER_BYTES = 100_000_000
"""The safetensors specification's bound on the JSON header."""

SUPPORTED = ("F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL")
"""The dtypes read (as numpy arrays; BF16 widened to float32)."""


def _package_error(exc: Exception) -> WeightsError:
    text = str(exc)
    for prefix in ("Error while deserializing header: ", "Error while deserializing: "):
        text = text.removeprefix(prefix)
    return WeightsError(f"not a valid safetensors file: {text}")


def _header_length(fh: IO[bytes], size: int, max_header: int) -> int:
    fh.seek(0)
    head = fh.read(8)
    if len(head) < 8:
        raise WeightsError(f"not a valid safetensors file: {size} bytes, too short for a header (8 bytes of length)")
    (n,) = struct.unpack("<Q", head)
    limit = min(max_header, MAX_HEADER_BYTES)
    if n > limit:
        raise WeightsError(
            f"not a valid safetensors file: the header length is {n:,} bytes, above the limit of {limit:,}"
        )
    return n


def _reopenable(fh: IO[bytes], path: str | Path | None) -> str:
    """A path that opens the very file ``fh`` is open on."""
    fd_path = f"/dev/fd/{fh.fileno()}"
    if os.path.exists(fd_path) or path is None:
        return fd_path
    return str(path)  # no /dev/fd (not a POSIX system): the path open_input checked


@contextlib.contextmanager
def open_tensors(
    fh: IO[bytes], max_header: int = MAX_HEADER_BYTES, path: str | Path | None = None
) -> Iterator[dict[str, Stored]]:
    """The tensors of the safetensors file open as ``fh`` (opened from ``path``), validated, their
    data not yet read.

    Raises :class:`WeightsError` for a malformed file. The tensors load while the context is open.
    """
    size = os.fstat(fh.fileno()).st_size
    header_len = _header_length(fh, size, max_header)
    from safetensors import SafetensorError, safe_open

    try:
        handle = safe_open(_reopenable(fh, path), framework="np")
    except SafetensorError as exc:
        raise _package_error(exc) from None
    except OSError as exc:
        raise WeightsError(f"cannot read the file: {exc.strerror or exc}") from None
    with handle as f:
        out: dict[str, Stored] = {}
        offsets: dict[str, list[int]] = {}
        for name in f.keys():  # noqa: SIM118 (a safe_open handle is not a mapping)
            piece = f.get_slice(name)
            dtype, shape = piece.get_dtype(), tuple(piece.get_shape())
            if dtype not in SUPPORTED:
                raise WeightsError(
                    f"tensor {name!r}: dtype {dtype}, which this reader does not support ({', '.join(SUPPORTED)})"
                )
            if dtype == "BF16":
                load = _bf16_loader(fh, header_len, name, shape, offsets)
            else:
                load = _loader(f, name)
            out[name] = Stored(shape, dtype, load)
        yield out


def _loader(f, name: str):
    def load() -> np.ndarray:
        try:
            return f.get_tensor(name)
        except Exception as exc:  # the package's error (the file changed under us?) names no tensor
            raise ValueError(f"tensor {name!r}: {exc}") from None

    return load


def _bf16_loader(fh: IO[bytes], header_len: int, name: str, shape: tuple[int, ...], offsets: dict[str, list[int]]):
    def load() -> np.ndarray:
        if not offsets:  # the package has validated this header: its offsets are in the file
            fh.seek(8)
            offsets.update(
                (k, v["data_offsets"]) for k, v in json.loads(fh.read(header_len)).items() if k != "__metadata__"
            )
        begin, end = offsets[name]
        bits = read_into(fh, 8 + header_len + begin, np.empty((end - begin) // 2, dtype="<u2"))
        return (bits.astype(np.uint32) << 16).view(np.float32).reshape(shape)

    return load


def load(path: str | Path) -> dict[str, np.ndarray]:
    """All tensors of a safetensors file as numpy arrays (bfloat16 widened to float32)."""
    try:
        with open_input(path) as fh, open_tensors(fh, path=path) as tensors:
            return {name: t.load() for name, t in tensors.items()}
    except InputError as exc:
        raise WeightsError(exc.message) from None


def _sorted_metadata(data: bytes) -> bytes:
    """``data`` with the entries of its header's ``__metadata__`` in sorted order."""
    (n,) = struct.unpack("<Q", data[:8])
    header = data[8 : 8 + n].decode()
    start = header.find('"__metadata__":')
    if start < 0:
        return data
    start += len('"__metadata__":')
    meta, end = json.JSONDecoder().raw_decode(header, start)
    text = json.dumps(dict(sorted(meta.items())), separators=(",", ":"), ensure_ascii=False)
    fixed = (header[:start] + text + header[end:]).encode()
    if len(fixed) != n:  # the package escaped something differently from json.dumps
        raise RuntimeError("internal error: could not put the safetensors metadata in order")
    return data[:8] + fixed + data[8 + n :]


def dumps(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> bytes:
    """The safetensors bytes of ``tensors``, the same for the same tensors and metadata."""
    import safetensors.numpy

    arrays = {}
    for name, arr in tensors.items():
        a = np.asarray(arr, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
        if a.dtype.kind not in "biuf" or a.dtype.itemsize > 8:
            raise WeightsError(f"tensor {name!r} has dtype {a.dtype}, which safetensors files here do not hold")
        arrays[name] = a
    meta = {str(k): str(v) for k, v in metadata.items()} if metadata else None
    return _sorted_metadata(safetensors.numpy.save(arrays, metadata=meta))


def save(tensors: dict[str, np.ndarray], path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Write ``tensors`` to ``path`` atomically (:func:`archdsl.fileio.atomic_write`)."""
    data = dumps(tensors, metadata)  # validates every dtype before the file is created

    def write(fh: IO[bytes]) -> None:
        fh.write(data)

    return atomic_write(path, write)


__all__ = ["MAX_HEADER_BYTES", "SUPPORTED", "dumps", "load", "open_tensors", "save"]
