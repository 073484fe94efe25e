"""The ONNX backend's weights: the seeded initialisation, or a weights file or dict, through
:mod:`archdsl.weights` (shared with the PyTorch backend: the same seed gives the same tensors, and
the same files are read or refused with the same words and codes: B008 a file that cannot be read,
B009 one that does not fit the spec, B003 a ``.pt`` file without torch)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from archdsl.diagnostics import DiagnosticError
from archdsl.ir import Graph
from archdsl.weights import WeightsError, init_weights, tensor_specs
from archdsl.weights.files import load_weights


def weight_bytes(graph: Graph) -> int:
    """The bytes of the graph's weights as float32 (an upper bound of the model's initializers, up
    to a few small constants), known before any weight exists."""
    return 4 * sum(math.prod(t.shape) for t in tensor_specs(graph))


def resolve_weights(
    graph: Graph, weights: str | Path | dict[str, np.ndarray] | None, seed: int
) -> tuple[dict[str, np.ndarray], str]:
    """The tensors to use (float32, int64 counters) and a deterministic description of where they
    came from (the model's ``archdsl.weights`` property)."""
    if weights is None:
        return init_weights(graph, seed), f"numpy init, seed {seed}"
    try:
        return load_weights(graph, weights)
    except WeightsError as exc:
        raise DiagnosticError(exc.diagnostics()) from None


__all__ = ["resolve_weights", "weight_bytes"]
