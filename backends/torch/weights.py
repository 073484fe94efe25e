"""Reading weight files for ``--weights``: a ``state_dict`` saved by torch, or a safetensors file.

safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header length, a
JSON header mapping each tensor name to its dtype, shape and byte range, then the raw data. The
header is validated by :mod:`archdsl.safetensors_header` (shared with the ONNX backend) before any
data is read; each tensor is then read straight into its own buffer. No ``safetensors`` package or
numpy is needed, so files written by the ONNX backend (``--emit safetensors``) or by
``safetensors.torch.save_file`` load as they are.

A weights file is untrusted input. It is opened with :func:`archdsl.fileio.open_input` (regular
files only: a FIFO or ``/dev/zero`` is refused without blocking; recorded as an input, so no
artefact may replace it; at most :data:`MAX_BYTES`). A ``torch.save`` file is a zip archive
whose members ``torch.save`` always stores uncompressed: a compressed member (a decompression
bomb: 4 GB of zeros in 4 MB) or an absurd number of members is refused before ``torch.load``
(``weights_only=True``, never a full unpickle) sees the file. This module is also the ONNX
backend's reader of ``.pt`` files (:func:`read_torch_file`).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import IO

import torch

from archdsl.fileio import InputError, open_input
from archdsl.safetensors_header import HeaderError, read_header
from archdsl.zip_directory import check_directory

_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}

MAX_BYTES = 8 * 2**31 + 2**28
"""The largest weights file read: 2^31 parameters (the resolver's limit) as float64, plus headers."""
MAX_MEMBERS = 1 << 16
"""The most members a ``torch.save`` archive may have (one a tensor, plus a few)."""
MAX_HEADER = 16 << 20
"""The longest safetensors header read (the format allows 100 MB; parsing one costs about ten times
its size in Python objects, and 16 MB describe some 200,000 tensors)."""


class WeightsError(ValueError):
    pass


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    with open_input(path, MAX_BYTES) as fh:
        return _read_safetensors(fh)


def _read_safetensors(fh: IO[bytes]) -> dict[str, torch.Tensor]:
    try:
        header = read_header(fh, os.fstat(fh.fileno()).st_size, max_header=MAX_HEADER, supported=tuple(_DTYPES))
    except HeaderError as exc:
        raise WeightsError(f"not a valid safetensors file: {exc}") from None
    out: dict[str, torch.Tensor] = {}
    for name, e in header.entries.items():
        dtype = _DTYPES[e.dtype]
        if not e.nbytes:
            out[name] = torch.empty(e.shape, dtype=dtype)
            continue
        buf = bytearray(e.nbytes)
        fh.seek(e.offset)
        view, pos = memoryview(buf), 0
        while pos < e.nbytes:
            n = fh.readinto(view[pos:])
            if not n:
                raise WeightsError(f"tensor {name!r}: the file ends early (truncated?)")
            pos += n
        out[name] = torch.frombuffer(buf, dtype=dtype).reshape(e.shape)
    return out


def check_torch_archive(fh: IO[bytes]) -> None:
    """Refuse a ``torch.save`` zip archive that ``torch.save`` could not have written: compressed
    members (the data would be inflated before anything checks its size), encrypted ones, or too
    many. ``fh`` is left at its start."""
    try:
        check_directory(fh, MAX_MEMBERS)
        with zipfile.ZipFile(fh) as z:
            for info in z.infolist():
                if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
                    raise WeightsError(
                        f"member {info.filename!r} of the archive is compressed or encrypted, which "
                        "torch.save never does (a decompression bomb?)"
                    )
    except zipfile.BadZipFile:
        raise WeightsError(
            "not a torch.save file: not a zip archive (files of torch before 1.6 are not read; "
            "load and save them again with a current torch)"
        ) from None
    except ValueError as exc:
        raise WeightsError(str(exc)) from None
    fh.seek(0)


def read_torch_file(fh: IO[bytes]) -> dict[str, torch.Tensor]:
    """The ``state_dict`` in the ``torch.save`` file open as ``fh`` (``{"state_dict": ...}`` too)."""
    check_torch_archive(fh)
    try:
        state = torch.load(fh, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception as exc:  # the restricted unpickler raises many kinds on a file that is not a state_dict
        raise WeightsError(f"not a torch state_dict file ({type(exc).__name__}: {exc})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError("the file does not hold a state_dict")
    return state


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` file, or the ``state_dict`` in a ``torch.save`` file.

    Any malformed file becomes a :class:`WeightsError` (a located B008 diagnostic upstream), never
    an exception from deep inside torch's unpickler.
    """
    try:
        with open_input(path, MAX_BYTES) as fh:
            if path.suffix == ".safetensors":
                return _read_safetensors(fh)
            return read_torch_file(fh)
    except WeightsError:
        raise
    except InputError as exc:
        raise WeightsError(exc.message) from None
    except OSError as exc:
        raise WeightsError(f"cannot read {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # torch.load raises many kinds on garbage
        kind = "safetensors" if path.suffix == ".safetensors" else "torch state_dict"
        raise WeightsError(f"{path} is not a valid {kind} file ({type(exc).__name__}: {exc})") from None
