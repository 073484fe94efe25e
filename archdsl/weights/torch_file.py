"""``torch.save`` files (``.pt``, ``.pth``, ``.bin``): checked as zip archives, then read by
``torch.load(weights_only=True)``; torch is imported here only, and only for such a file.

A ``torch.save`` file is a zip archive whose members ``torch.save`` always stores uncompressed: a
compressed member (a decompression bomb: 4 GB of zeros in 4 MB), an encrypted one or an absurd
number of members (counted from the zip's end record, :mod:`.zip_directory`) is refused before
``torch.load`` sees the file. ``torch.load`` runs with ``weights_only=True``: its restricted
unpickler builds tensors and containers, never arbitrary objects, so no code from the file runs.
Without torch, :class:`WeightsError` says so (``needs="torch"``) and how to convert the file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO

from archdsl.weights.errors import WeightsError
from archdsl.weights.zip_directory import check_directory

NO_TORCH_HELP = (
    "install torch, or save the state_dict as safetensors "
    "(safetensors.torch.save_file(model.state_dict(), 'weights.safetensors')) and pass that file"
)


def check_torch_archive(fh: IO[bytes], max_members: int) -> None:
    """Refuse a ``torch.save`` archive that ``torch.save`` could not have written: compressed or
    encrypted members, or more than ``max_members``. ``fh`` is left at its start."""
    try:
        check_directory(fh, max_members)
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
    except WeightsError:
        raise
    except ValueError as exc:
        raise WeightsError(str(exc)) from None
    fh.seek(0)


def read_torch_file(fh: IO[bytes], path: Path, max_members: int):
    """The ``state_dict`` (name → ``torch.Tensor``) in the ``torch.save`` file open as ``fh``
    (``{"state_dict": ...}`` too)."""
    try:
        import torch
    except ImportError:
        raise WeightsError(
            f"reading the PyTorch file '{path}' needs torch, which is not installed", NO_TORCH_HELP, needs="torch"
        ) from None
    check_torch_archive(fh, max_members)
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
    return {str(k): v for k, v in state.items()}


def to_numpy(state) -> dict:
    """A ``state_dict`` as numpy arrays (floating point as float32: bfloat16 has no numpy dtype)."""
    import torch

    out = {}
    for k, v in state.items():
        v = v.detach().cpu()
        if v.is_floating_point() and v.dtype not in (torch.float32, torch.float64, torch.float16):
            v = v.to(torch.float32)
        out[k] = v.numpy()
    return out


__all__ = ["check_torch_archive", "read_torch_file", "to_numpy"]
