"""Weights of a graph: which tensors it has (from the op registry), how they are initialised, and
how they are read and written.

One module for every backend, so the PyTorch and ONNX backends name, shape, initialise, read and
write weights identically: the same seed gives the same numbers in both, and a file one backend
writes, or refuses, the other reads, or refuses with the same words.

- :func:`tensor_specs` lists the tensors of a graph under the contract names of docs/ir.md
  (``ID.weight``, ``ID.running_var`` ...), from each op's :class:`~archdsl.ops.WeightSpec`.
- :func:`init_weights` initialises them like timm (see :mod:`.init`), deterministically per
  tensor name and seed, with numpy; :func:`init_table` is what the standalone PyTorch file carries
  to do the same.
- :mod:`.files` reads weights files (``.safetensors`` through the ``safetensors`` package,
  ``.npz``, ``torch.save`` files) and checks them against a graph; :mod:`.safetensors_file`
  writes safetensors. Both need numpy (an optional dependency: this package's top level does not
  import it, so ``archdsl check`` never needs it). Problems are :class:`WeightsError`.
"""

from __future__ import annotations

from archdsl.weights.errors import Problem, WeightsError
from archdsl.weights.init import init_array, init_table, init_weights
from archdsl.weights.specs import TensorSpec, tensor_specs

__all__ = ["Problem", "TensorSpec", "WeightsError", "init_array", "init_table", "init_weights", "tensor_specs"]
