"""Reading weight files for ``--weights``: a ``state_dict`` saved by torch, or a safetensors file.

safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header length, a
JSON header mapping each tensor name to its dtype, shape and byte range, then the raw data. The
reader below needs neither the ``safetensors`` package nor numpy, so files written by the ONNX
backend (``--emit safetensors``) or by ``safetensors.torch.save_file`` load as they are.

Both are opened with :func:`archdsl.fileio.open_input`: only regular files are read (a FIFO or a
device is refused without blocking), and the file is recorded as an input, so no artefact of the
same run may replace it.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import torch

from archdsl.fileio import InputError, open_input

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


class WeightsError(ValueError):
    pass


def read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    with open_input(path) as fh:
        data = fh.read()
    if len(data) < 8:
        raise WeightsError("file too short for a safetensors header")
    (size,) = struct.unpack("<Q", data[:8])
    if 8 + size > len(data):
        raise WeightsError("safetensors header runs past the end of the file")
    try:
        header = json.loads(data[8 : 8 + size])
    except ValueError as exc:
        raise WeightsError(f"bad safetensors header: {exc}") from None
    body = memoryview(data)[8 + size :]
    out: dict[str, torch.Tensor] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info.get("dtype"))
        if dtype is None:
            raise WeightsError(f"tensor {name}: unsupported dtype {info.get('dtype')!r}")
        start, end = info["data_offsets"]
        if not 0 <= start <= end <= len(body):
            raise WeightsError(f"tensor {name}: byte range outside the file")
        flat = torch.frombuffer(bytearray(body[start:end]), dtype=dtype) if end > start else torch.empty(0, dtype=dtype)
        out[name] = flat.reshape(info["shape"])
    return out


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a ``.safetensors`` file, or the ``state_dict`` in a ``torch.save`` file.

    Any malformed file becomes a :class:`WeightsError` (a located B103 diagnostic upstream), never
    an exception from deep inside torch's unpickler.
    """
    try:
        return _read_weights(path)
    except WeightsError:
        raise
    except InputError as exc:
        raise WeightsError(exc.message) from None
    except OSError as exc:
        raise WeightsError(f"cannot read {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # torch.load and the header parser raise many kinds on garbage
        kind = "safetensors" if path.suffix == ".safetensors" else "torch state_dict"
        raise WeightsError(f"{path} is not a valid {kind} file ({type(exc).__name__}: {exc})") from None


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        return read_safetensors(path)
    with open_input(path) as fh:  # a regular file only: a FIFO or /dev/zero is refused, not read
        state = torch.load(fh, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError("the file does not hold a state_dict")
    return state
