"""Fold attention's ``1/sqrt(d)`` into the query rows of the ``qkv`` projection.

``mhsa`` computes ``softmax(q kᵀ · scale) v`` with ``scale`` defaulting to ``1/sqrt(C/heads)``.
Multiplying the q rows of ``qkv.weight`` and ``qkv.bias`` by the scale and setting ``scale = 1``
computes the same, with one multiplication fewer per attention score.
"""

from __future__ import annotations

import math

from archdsl.passes.rewriter import Rewriter

NAME = "attention scale folded"


def fold_attention_scale(rw: Rewriter) -> bool:
    changed = False
    for nid in list(rw.nodes):
        node = rw.nodes.get(nid)
        if node is None or node.op != "mhsa" or node.args.scale == 1.0:
            continue
        c = node.out.c
        scale = node.args.scale if node.args.scale is not None else 1.0 / math.sqrt(c // node.args.heads)
        if rw.has_weights:
            import numpy as np

            w = rw.weights
            for key in (f"{nid}.qkv.weight", f"{nid}.qkv.bias"):
                if key in w:
                    arr = np.array(w[key], np.float64)
                    arr[:c] *= scale
                    w[key] = arr.astype(w[key].dtype)
        rw.update(node.model_copy(update={"args": node.args.model_copy(update={"scale": 1.0})}))
        rw.stats[NAME] += 1
        changed = True
    return changed
