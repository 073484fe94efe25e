"""The ONNX backend: IR → ``.onnx`` with ``onnx.helper`` / ``onnx.numpy_helper``; no torch.

Registered as ``onnx = "archdsl_backends.onnx:BACKEND"`` in the ``archdsl.backends`` entry-point
group. ``archdsl compile SPEC --backend onnx -o model.onnx [-O opset=18] [-O fold=false]
[-O dynamic_batch=false] [-O weights=w.safetensors]``; see docs/onnx.md.

From Python::

    import archdsl
    from archdsl_backends.onnx import build_model, serialize
    model = build_model(archdsl.load("specs/attendnext.arch"), {"opset": 18})
    open("attendnext.onnx", "wb").write(serialize(model))

Modules: :mod:`.options` (``-O`` keys), :mod:`.weights` (seeded init or a weights file, through
:mod:`archdsl.weights`), :mod:`.folding` (the shared IR passes for the options, Split groups),
:mod:`.emitters` (the ``emit_<op>`` table over ``emit_*.py``, one module per op family),
:mod:`.builder` (nodes, initializers, naming),
:mod:`.metadata` (model properties), :mod:`.backend` (the hook and the pipeline).
"""

from __future__ import annotations

from typing import Any

from .options import OnnxOptions, parse_options

_FROM_BACKEND = ("BACKEND", "OnnxBackend", "build_model", "check_support", "save_model", "serialize")


def __getattr__(name: str) -> Any:
    """The backend and its pipeline import onnx: they load on first use, so that the light
    :mod:`.options` (which ``archdsl compile --help`` reads) does not pull onnx in."""
    if name in _FROM_BACKEND:
        from . import backend

        return getattr(backend, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BACKEND",
    "OnnxBackend",
    "OnnxOptions",
    "build_model",
    "check_support",
    "parse_options",
    "save_model",
    "serialize",
]
