"""The model as files: one ``.onnx``, or ``.onnx`` plus ``.onnx.data`` (ONNX external data).

The builder does not copy weights into protobuf. It makes a *skeleton* ModelProto whose large
initializers (:data:`INLINE_BYTES` or more) are external-data references into a data file laid out
here (each tensor at an offset aligned to :data:`ALIGN`, in initializer order), and keeps the
numpy arrays beside it (:class:`Built`). Everything that inspects the model (shape inference,
``onnx.checker``, metadata) works on the skeleton, which is a few kilobytes whatever the weights
weigh. Then:

- **external data** (above :data:`EXTERNAL_BYTES` of initializers, or ``-O external_data=true``):
  the skeleton *is* the ``.onnx`` file; the data file is the arrays' buffers, streamed, with zero
  padding between them. Protobuf's 2 GB limit does not apply.
- **embedded**: the ``.onnx`` is streamed from the skeleton's serialisation with each external
  tensor's bytes spliced in as its ``raw_data``, straight from the array's buffer. The result is
  byte for byte ``embed(built).SerializeToString(deterministic=True)`` (tested), without ever
  holding it in memory.

Either way peak memory stays near the weights' own size (one copy, the arrays). Both files are
written with :func:`archdsl.fileio.atomic_write` (the data file inside the model's write, so the
two renames follow each other), so an interrupted compile leaves the previous artefacts intact.
:func:`check` runs ``onnx.checker`` (full check) by path on the skeleton beside a sparse stand-in
of the data file, so it too costs no memory for the weights.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from archdsl.fileio import atomic_write

INLINE_BYTES = 1024
"""Initializers smaller than this stay in the ``.onnx`` (shapes, axes, scalars); larger ones may go out."""
ALIGN = 4096
"""Offsets of tensors in the data file are multiples of this (a page), so runtimes can map them."""
EXTERNAL_BYTES = 1_800_000_000
"""Above this many bytes of initializers, weights go to external data (protobuf files stop at 2 GB)."""
PROTOBUF_LIMIT = 2**31 - 1
EMBEDDED_MAX = 2_000_000_000
"""The most bytes of weights a model with embedded weights may have (the rest of 2 GiB is for the graph)."""


@dataclass
class Built:
    """A skeleton model and the arrays its external initializers stand for (name → array)."""

    model: onnx.ModelProto
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    data_bytes: int = 0

    @property
    def weight_bytes(self) -> int:
        return sum(a.nbytes for a in self.arrays.values())


def _le(arr: np.ndarray) -> np.ndarray:
    """``arr`` C-contiguous and little-endian (no copy when it is already)."""
    dt = arr.dtype.newbyteorder("<") if arr.dtype.byteorder in (">",) or sys.byteorder == "big" else arr.dtype
    return np.ascontiguousarray(arr, dtype=dt)


def initializers(arrays: dict[str, np.ndarray], location: str) -> tuple[list[TensorProto], dict[str, np.ndarray], int]:
    """TensorProtos for ``arrays`` (in order): small ones inline, large ones external references
    into ``location``; returns them, the external arrays, and the data file's size."""
    protos: list[TensorProto] = []
    external: dict[str, np.ndarray] = {}
    offset = 0
    for name, arr in arrays.items():
        if arr.nbytes < INLINE_BYTES:
            protos.append(numpy_helper.from_array(arr, name))
            continue
        arr = _le(arr)
        offset += -offset % ALIGN
        t = TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(arr.dtype))
        t.dims.extend(arr.shape)
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", str(offset)), ("length", str(arr.nbytes))):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
        protos.append(t)
        external[name] = arr
        offset += arr.nbytes
    return protos, external, offset


def relocate(built: Built, location: str) -> None:
    """Point every external initializer at the data file ``location`` (a file name, no folder)."""
    for t in built.model.graph.initializer:
        for entry in t.external_data:
            if entry.key == "location":
                entry.value = location


def _is_external(t: TensorProto) -> bool:
    return t.data_location == TensorProto.EXTERNAL


def _inline(t: TensorProto) -> TensorProto:
    """``t`` without its external-data fields (the fields that stay when its data is embedded)."""
    out = TensorProto()
    out.CopyFrom(t)
    out.ClearField("external_data")
    out.ClearField("data_location")
    return out


def embed(built: Built) -> onnx.ModelProto:
    """The self-contained ModelProto (weights as ``raw_data``): for the Python API and for tests."""
    model = onnx.ModelProto()
    model.CopyFrom(built.model)
    for i, t in enumerate(model.graph.initializer):
        if _is_external(t):
            inline = _inline(t)
            inline.raw_data = built.arrays[t.name].tobytes()
            model.graph.initializer[i].CopyFrom(inline)
    return model


# ---- streaming the embedded model -----------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, length: int) -> bytes:
    """The tag and length of a length-delimited field."""
    return _varint(number << 3 | 2) + _varint(length)


def _only(msg, lo: int, hi: int) -> bytes:
    """The deterministic serialisation of ``msg``'s fields numbered ``lo <= n < hi``."""
    part = type(msg)()
    part.CopyFrom(msg)
    for fd, _ in part.ListFields():
        if not lo <= fd.number < hi:
            part.ClearField(fd.name)
    return part.SerializeToString(deterministic=True)


_GRAPH = onnx.ModelProto.DESCRIPTOR.fields_by_name["graph"].number
_INITIALIZER = onnx.GraphProto.DESCRIPTOR.fields_by_name["initializer"].number
_RAW = onnx.TensorProto.DESCRIPTOR.fields_by_name["raw_data"].number
_END = 1 << 29


def _pieces(built: Built) -> tuple[list[bytes | np.ndarray], int]:
    """The embedded model's serialisation as byte strings and arrays (written as they are), and its size.

    Protobuf writes known fields in field-number order, so a message is the concatenation of its
    fields' encodings: the model is its fields before ``graph``, the graph (its fields before
    ``initializer``, each initializer, its fields after), its fields after ``graph``; an external
    tensor is its fields before ``raw_data``, the raw data, its fields after.
    """
    model = built.model
    graph = model.graph
    inits: list[bytes | np.ndarray] = []
    for t in graph.initializer:
        if not _is_external(t):
            body = t.SerializeToString(deterministic=True)
            inits += [_key(_INITIALIZER, len(body)), body]
            continue
        arr = built.arrays[t.name]
        inline = _inline(t)
        head, tail = _only(inline, 0, _RAW), _only(inline, _RAW + 1, _END)
        raw_key = _key(_RAW, arr.nbytes)
        inits += [_key(_INITIALIZER, len(head) + len(raw_key) + arr.nbytes + len(tail)), head, raw_key, arr, tail]
    g_head, g_tail = _only(graph, 0, _INITIALIZER), _only(graph, _INITIALIZER + 1, _END)
    g_len = len(g_head) + sum(_size(p) for p in inits) + len(g_tail)
    pieces = [_only(model, 0, _GRAPH), _key(_GRAPH, g_len), g_head, *inits, g_tail, _only(model, _GRAPH + 1, _END)]
    return pieces, sum(_size(p) for p in pieces)


def _size(piece: bytes | np.ndarray) -> int:
    return piece.nbytes if isinstance(piece, np.ndarray) else len(piece)


def _write_all(fh: IO[bytes], pieces: Iterable[bytes | np.ndarray]) -> None:
    for piece in pieces:
        if isinstance(piece, np.ndarray):
            if piece.nbytes:
                fh.write(memoryview(piece.reshape(-1)).cast("B"))
        elif piece:
            fh.write(piece)


def _data_pieces(built: Built) -> Iterator[bytes | np.ndarray]:
    """The data file: each external array at its offset, zero padding between."""
    pos = 0
    for t in built.model.graph.initializer:
        if not _is_external(t):
            continue
        offset = int(next(e.value for e in t.external_data if e.key == "offset"))
        if offset > pos:
            yield bytes(offset - pos)
        arr = built.arrays[t.name]
        yield arr
        pos = offset + arr.nbytes


def embedded_size(built: Built) -> int:
    return _pieces(built)[1]


# ---- writing ----------------------------------------------------------------------------------------


def write(built: Built, path: Path, external: bool) -> list[tuple[Path, int]]:
    """Write the model to ``path`` (and ``path.data`` with external data); returns (path, bytes) pairs."""
    if external:
        data_path = data_path_for(path)
        relocate(built, data_path.name)
        skeleton = built.model.SerializeToString(deterministic=True)

        def write_both(fh: IO[bytes]) -> None:
            # the model's temporary file first, then the data file (written and renamed), then the
            # model is renamed: an interruption before that leaves both old files, and the two
            # renames are a moment apart
            fh.write(skeleton)
            atomic_write(data_path, lambda data: _write_all(data, _data_pieces(built)))

        atomic_write(path, write_both)
        return [(path, len(skeleton)), (data_path, built.data_bytes)]
    pieces, size = _pieces(built)
    if size > PROTOBUF_LIMIT:
        raise ValueError(f"internal error: an embedded model of {size:,} bytes is above protobuf's limit")
    atomic_write(path, lambda fh: _write_all(fh, pieces))
    return [(path, size)]


def data_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".data")


def check(built: Built) -> None:
    """``onnx.checker.check_model(full_check=True)`` on the skeleton, by path, beside a sparse file of
    the data file's size: everything is checked but the weights' values, which the checker never
    reads, and no memory is spent on them."""
    with tempfile.TemporaryDirectory(prefix="archdsl-onnx-check-") as tmp:
        model = onnx.ModelProto()
        model.CopyFrom(built.model)
        stand_in = Built(model, built.arrays, built.data_bytes)
        relocate(stand_in, "model.onnx.data")
        with open(os.path.join(tmp, "model.onnx.data"), "wb") as fh:
            fh.truncate(built.data_bytes)
        path = os.path.join(tmp, "model.onnx")
        with open(path, "wb") as fh:
            fh.write(model.SerializeToString(deterministic=True))
        onnx.checker.check_model(path, full_check=True)
