"""Deploy form: the inference form of a graph and its ``state_dict``, equal in eval mode.

The rewrites are the shared IR passes (:mod:`archdsl.passes`, the same the ONNX backend and the
cost model use), run on the weights as numpy arrays (float64 arithmetic, dtypes kept):

1. ``drop_identities``: ``identity`` and ``dropout`` nodes go (both are the identity in eval mode);
2. ``fold_bn``: a ``bn`` after a ``conv`` that nothing else reads folds into that conv;
3. ``merge_branches``: an ``add`` of convs of one tensor X (one stride and groups, dilation 1, odd
   kernels, one centring), ``bn(X)`` and X itself becomes one conv of X, named ``<scope>.reparam``:
   MobileOne's and RepVGG's re-parameterisation.

The result is again a valid IR graph (its ``params`` and ``macs`` recounted), so the module, the
standalone file and any other backend can be made from it.
"""

from __future__ import annotations

import numpy as np
import torch

from archdsl import passes
from archdsl.ir import Graph

Tensors = dict[str, torch.Tensor]

PIPELINE = ("drop_identities", "fold_bn", "merge_branches")


def deploy_graph(graph: Graph, state: Tensors) -> tuple[Graph, Tensors]:
    """The deploy form of ``graph`` and its weights ``state`` (a ``state_dict``); inputs are not changed."""
    arrays = {k: v.detach().cpu().numpy() for k, v in state.items()}
    new, out, _ = passes.run(graph, arrays, PIPELINE)
    assert out is not None
    return new, {k: torch.from_numpy(np.asarray(v, order="C")) for k, v in out.items()}


__all__ = ["PIPELINE", "deploy_graph"]
