"""Weights of a graph: which tensors it has (from the op registry), how they are initialised, and
how they are read and written.

One module for every backend, so the PyTorch and ONNX backends name, shape and initialise weights
identically: the same seed gives the same numbers in both.

- :func:`tensor_specs` lists the tensors of a graph under the contract names of docs/ir.md
  (``ID.weight``, ``ID.running_var`` ...), from each op's :class:`~archdsl.ops.WeightSpec`.
- :func:`init_weights` initialises them like timm (see :mod:`.init`), deterministically per
  tensor name and seed, with numpy.
"""

from __future__ import annotations

from archdsl.weights.init import init_array, init_weights
from archdsl.weights.specs import TensorSpec, tensor_specs

__all__ = ["TensorSpec", "init_array", "init_weights", "tensor_specs"]
