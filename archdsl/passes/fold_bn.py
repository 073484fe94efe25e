"""Fold a batch norm into the convolution before it.

A ``bn`` whose input is a ``conv`` that nothing else reads becomes part of that convolution:
``W' = W·s``, ``b' = (b - mean)·s + beta`` with ``s = gamma / sqrt(var + eps)`` (float64, stored
back in the conv weight's dtype). The convolution keeps its id and gets ``bias = true``; the batch
norm's consumers read the convolution.
"""

from __future__ import annotations

from archdsl.passes.rewriter import Rewriter

NAME = "batch norm folded"


def bn_scale_shift(rw: Rewriter, bn_id: str, eps: float):
    """The eval-mode batch norm ``bn_id`` as ``y = x·scale + shift`` (float64 arrays)."""
    import numpy as np

    w = rw.weights
    var = np.asarray(w[f"{bn_id}.running_var"], np.float64)
    # bn(affine = false) has no weight and bias: 1 and 0
    gamma = np.asarray(w.get(f"{bn_id}.weight", np.ones_like(var)), np.float64)
    beta = np.asarray(w.get(f"{bn_id}.bias", np.zeros_like(var)), np.float64)
    scale = gamma / np.sqrt(var + eps)
    shift = beta - np.asarray(w[f"{bn_id}.running_mean"], np.float64) * scale
    return scale, shift


def fold_bn(rw: Rewriter) -> bool:
    changed = False
    for nid in list(rw.nodes):
        bn = rw.nodes.get(nid)
        if bn is None or bn.op != "bn":
            continue
        src = rw.node(bn.inputs[0])
        if src is None or src.op != "conv" or rw.only_user(src.id) != nid:
            continue
        if rw.has_weights:
            import numpy as np

            scale, shift = bn_scale_shift(rw, nid, bn.args.eps)
            w = rw.weights
            weight = w[f"{src.id}.weight"]
            dtype = weight.dtype
            bias = w.get(f"{src.id}.bias")
            bias = np.zeros_like(scale) if bias is None else np.asarray(bias, np.float64)
            w[f"{src.id}.weight"] = (np.asarray(weight, np.float64) * scale[:, None, None, None]).astype(dtype)
            w[f"{src.id}.bias"] = (bias * scale + shift).astype(dtype)
        conv = src.model_copy(update={"args": src.args.model_copy(update={"bias": True}), "out": bn.out})
        rw.update(conv)
        rw.redirect(nid, src.id)
        rw.remove(nid)
        rw.stats[NAME] += 1
        changed = True
    return changed
