"""The PyTorch backend's weights, through :mod:`archdsl.weights` (shared with the ONNX backend).

- :func:`initialise`: the seeded initialisation (timm-like, numpy: the same numbers the ONNX
  backend gives for the same seed) copied into a module made by :mod:`.build`;
- :func:`read_weights`: a ``--weights`` file (``.safetensors``, ``.npz``, ``torch.save``) as a
  ``state_dict`` of torch tensors, read and validated by :mod:`archdsl.weights.files`;
- :func:`load_into`: a weights file checked against the spec (missing, extra and mis-shaped tensors,
  located at their nodes) and loaded into the module; problems are B008 (unreadable) and B009 (does
  not fit) diagnostics, as in the ONNX backend.
"""

from __future__ import annotations

from pathlib import Path

import torch

from archdsl.diagnostics import DiagnosticError, Span
from archdsl.ir import Graph
from archdsl.weights import WeightsError, init_weights
from archdsl.weights.files import load_weights, read_file


def _tensors(arrays: dict) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v) for k, v in arrays.items()}


def initialise(module: torch.nn.Module, graph: Graph, seed: int = 0) -> torch.nn.Module:
    """Give ``module`` (made for ``graph``, before any memory-format change) its initial weights."""
    state = _tensors(init_weights(graph, seed))
    with torch.no_grad():
        module.load_state_dict(state, strict=True)  # every tensor of the module comes from the registry
    return module


def read_weights(path: str | Path, graph: Graph | None = None) -> dict[str, torch.Tensor]:
    """The tensors of a weights file (raises :class:`~archdsl.weights.WeightsError`)."""
    return _tensors(read_file(path, graph))


def load_into(graph: Graph, module: torch.nn.Module, path: Path) -> None:
    """Load the weights file ``path`` into ``module`` (made for ``graph``); B008/B009 diagnostics."""
    try:
        arrays, _ = load_weights(graph, path)
    except WeightsError as exc:
        raise DiagnosticError(exc.diagnostics(Span(graph.file, 0, 0, 0, 0))) from None
    with torch.no_grad():
        module.load_state_dict(_tensors(arrays), strict=True)


__all__ = ["initialise", "load_into", "read_weights"]
