"""The ONNX backend's options: what ``-O KEY=VALUE`` (and the request fields) may set, validated.

Every option has a default, so ``archdsl compile SPEC --backend onnx`` needs none of them. An
unknown key, a value of the wrong type or an opset out of range is a ``B101`` diagnostic that names
the known keys, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import onnx

from archdsl.diagnostics import Diagnostic, DiagnosticError, Severity, did_you_mean

MIN_OPSET = 13
DEFAULT_OPSET = 17


def max_opset() -> int:
    """The newest default-domain opset the installed ``onnx`` package knows."""
    return onnx.defs.onnx_opset_version()


@dataclass(frozen=True)
class OnnxOptions:
    """Options of one ONNX compile. Field docs are shown by ``docs/onnx.md``."""

    opset: int = DEFAULT_OPSET
    """default-domain opset to target (13 up to the newest the installed onnx supports)"""
    dynamic_batch: bool = True
    """name the batch dimension ``batch`` instead of fixing it"""
    batch: int = 1
    """the fixed batch size when ``dynamic_batch`` is false"""
    fold: bool = True
    """fold batch norm into the convolution before it"""
    reparam: bool | None = None
    """merge parallel conv branches joined by an add into one conv (MobileOne/RepVGG); default: = fold"""
    weights: str | None = None
    """weights file (.safetensors, .npz, or .pt/.pth with torch installed); default: seeded init"""
    seed: int = 0
    """seed of the numpy initialisation when no weights file is given"""
    output_name: str = "output"
    """name of the graph output"""
    check: bool = True
    """run onnx.checker (full check, strict shape inference) on the result"""
    shapes: bool = False
    """store the shape of every intermediate tensor (value_info), for Netron; off to keep files small"""
    external_data: bool | None = None
    """weights in ``<name>.onnx.data`` beside the model (ONNX external data); default: above 1.8 GB"""

    @property
    def merge_branches(self) -> bool:
        return self.fold if self.reparam is None else self.reparam


_TYPES: dict[str, tuple[type, ...]] = {
    "opset": (int,),
    "dynamic_batch": (bool,),
    "batch": (int,),
    "fold": (bool,),
    "reparam": (bool,),
    "weights": (str, Path),
    "seed": (int,),
    "output_name": (str,),
    "check": (bool,),
    "shapes": (bool,),
    "external_data": (bool,),
}


def _bad(message: str, help: str | None = None) -> DiagnosticError:
    return DiagnosticError(Diagnostic("B101", message, None, Severity.ERROR, help))


def parse_options(options: dict[str, Any] | None = None, seed: int = 0) -> OnnxOptions:
    """Validate a ``-O`` dictionary (values already parsed: bools, numbers, strings)."""
    known = [f.name for f in fields(OnnxOptions)]
    values: dict[str, Any] = {"seed": seed}
    for key, value in (options or {}).items():
        if key not in known:
            raise _bad(
                f"unknown onnx backend option '{key}'",
                did_you_mean(key, set(known)) or "options: " + ", ".join(known),
            )
        want = _TYPES[key]
        if key == "weights" and value is not None:
            value = str(value)
        ok = isinstance(value, want) and not (bool not in want and isinstance(value, bool))
        if not ok:
            kind = " or ".join("true/false" if t is bool else t.__name__ for t in want if t is not Path)
            raise _bad(f"onnx option {key} must be {kind}, got {value!r}")
        values[key] = value
    opts = OnnxOptions(**values)
    hi = max_opset()
    if not MIN_OPSET <= opts.opset <= hi:
        raise _bad(
            f"opset {opts.opset} is out of range: this backend emits opsets {MIN_OPSET} to {hi}",
            f"{hi} is the newest the installed onnx {onnx.__version__} supports; use -O opset=N with "
            f"{MIN_OPSET} <= N <= {hi}",
        )
    if opts.batch < 1:
        raise _bad(f"onnx option batch must be at least 1, got {opts.batch}")
    if opts.reparam and not opts.fold:
        raise _bad("onnx option reparam=true needs fold=true (branches are merged after their batch norms are folded)")
    if not opts.output_name:
        raise _bad("onnx option output_name must not be empty")
    return opts
