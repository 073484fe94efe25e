"""IR passes: rewrites of a graph and its weights that every backend shares.

Each pass is one module with one function ``pass_(rewriter) -> bool`` (whether it changed
anything) over a :class:`~archdsl.passes.rewriter.Rewriter`. :func:`run` applies a pipeline to a
fixed point and returns the new graph, the new weights and what each pass did::

    graph2, weights2, stats = run(graph, weights, INFERENCE)      # numpy weights
    graph2, _, stats = run(graph, None, INFERENCE)                # weight-less: the structure only

Weights are numpy arrays under the names of docs/ir.md; arithmetic is float64, results keep the
input's dtype. The inputs are never modified. Merged nodes are named ``<scope>.reparam``; a folded
batch norm disappears into its convolution, which keeps its id; a moved upsampling keeps its id.
numpy is imported only when weights are given, so the cost model's weight-less use stays light.

| pass | what it does |
|---|---|
| :mod:`.drop_identities` | removes ``identity``/``dropout`` (the alias trait) |
| :mod:`.fold_bn` | folds a batch norm into the convolution before it |
| :mod:`.merge_branches` | RepVGG/MobileOne re-parameterisation of conv/BN/identity branches of one tensor |
| :mod:`.sink_upsample` | moves a nearest upsampling below per-pixel ops |
| :mod:`.fold_attention_scale` | folds attention's ``1/sqrt(d)`` into the query projection |
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from archdsl.ir import Graph
from archdsl.passes.drop_identities import drop_identities
from archdsl.passes.fold_attention_scale import fold_attention_scale
from archdsl.passes.fold_bn import fold_bn
from archdsl.passes.merge_branches import merge_branches
from archdsl.passes.rewriter import Rewriter, Weights
from archdsl.passes.sink_upsample import sink_upsample

Pass = Callable[[Rewriter], bool]

PASSES: dict[str, Pass] = {
    "drop_identities": drop_identities,
    "fold_bn": fold_bn,
    "merge_branches": merge_branches,
    "sink_upsample": sink_upsample,
    "fold_attention_scale": fold_attention_scale,
}

#: what an inference runtime does before it runs a network (the deploy form)
INFERENCE: tuple[str, ...] = ("drop_identities", "fold_bn", "merge_branches")

MAX_ROUNDS = 100


def run(graph: Graph, weights: Weights = None, passes: Sequence[str] = INFERENCE) -> tuple[Graph, Weights, Counter]:
    """Apply ``passes`` in order, repeatedly, until none changes anything."""
    unknown = [p for p in passes if p not in PASSES]
    if unknown:
        raise ValueError(f"unknown IR passes: {', '.join(unknown)}; known: {', '.join(PASSES)}")
    rw = Rewriter(graph, weights)
    for _ in range(MAX_ROUNDS):
        changed = False
        for name in passes:
            while PASSES[name](rw):
                changed = True
        if not changed:
            break
    out, new_weights = rw.finish()
    return out, new_weights, rw.stats


__all__ = ["INFERENCE", "PASSES", "Rewriter", "run"]
