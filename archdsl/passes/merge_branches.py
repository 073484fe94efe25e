"""Merge parallel branches joined by an ``add`` into one convolution (RepVGG / MobileOne
re-parameterisation).

An ``add`` whose every input is a convolution of one tensor X, a batch norm of X, or X itself
(each branch read by the add alone) is one convolution of X: the convolutions share stride,
groups and output channels, have dilation 1, odd kernels and the same centring
(``p - (k - 1) / 2``); smaller kernels are zero-padded to the largest, X and BN(X) become
identity kernels (only at stride 1, centring 0 and as many output as input channels). The
merged convolution (with a bias) is named ``<scope>.reparam`` after the add's scope and takes the
add's place. Run after :mod:`.fold_bn` so that conv → BN branches are single convolutions;
nested adds merge inside out. Exact up to float rounding (float64 arithmetic).
"""

from __future__ import annotations

from archdsl.ir import Node
from archdsl.ops import OPS
from archdsl.passes.fold_bn import bn_scale_shift
from archdsl.passes.rewriter import Rewriter

NAME = "branches merged"


def _branches(rw: Rewriter, add: Node):
    """(X, convs, bns, identities) when ``add`` is a sum of branches of one tensor X, else None."""
    xs = {rw.nodes[i].inputs[0] for i in add.inputs if i in rw.nodes and rw.nodes[i].op == "conv"}
    if len(xs) != 1:
        return None
    (x,) = xs
    convs: list[Node] = []
    bns: list[Node] = []
    identities = 0
    for ref in add.inputs:
        node = rw.node(ref)
        if ref == x:
            identities += 1
        elif node is not None and node.op in ("conv", "bn") and node.inputs[0] == x and rw.only_user(ref) == add.id:
            (convs if node.op == "conv" else bns).append(node)
        else:
            return None
    return x, convs, bns, identities


def _merge_one(rw: Rewriter, add: Node) -> bool:
    found = _branches(rw, add)
    if found is None:
        return False
    x, convs, bns, identities = found
    first = convs[0].args
    cin = rw.types[x].c
    offsets = set()
    for cv in convs:
        a = cv.args
        if not all(isinstance(v, int) for v in (a.k, a.s, a.p)):  # non-square, asymmetric or "same"
            return False
        if (a.s, a.groups, a.c, a.d) != (first.s, first.groups, first.c, 1) or a.k % 2 == 0:
            return False
        offsets.add(a.p - (a.k - 1) // 2)
    if len(offsets) != 1:
        return False
    (offset,) = offsets
    if (bns or identities) and (first.s != 1 or offset != 0 or first.c != cin):
        return False
    k = max(cv.args.k for cv in convs)
    g = first.groups
    args = OPS["conv"].args(c=first.c, k=k, s=first.s, p=offset + (k - 1) // 2, d=1, groups=g, bias=True)
    scope = add.id.rpartition(".")[0]
    new_id = rw.fresh_id(f"{scope}.reparam" if scope else "reparam")
    merged = Node(id=new_id, op="conv", args=args, inputs=(x,), out=add.out, params=0, macs=0, span=add.span)
    if rw.has_weights:
        weight, bias = _merged_weights(rw, convs, bns, identities, k, cin, g, first.c)
        dtype = rw.weights[f"{convs[0].id}.weight"].dtype
    for node in convs + bns:
        rw.remove(node.id)
    rw.replace(add.id, rw.recount(merged))
    if rw.has_weights:
        rw.weights[f"{new_id}.weight"] = weight.astype(dtype)
        rw.weights[f"{new_id}.bias"] = bias.astype(dtype)
    rw.stats[NAME] += 1
    return True


def _merged_weights(rw: Rewriter, convs, bns, identities: int, k: int, cin: int, groups: int, cout: int):
    import numpy as np

    w = rw.weights
    weight = np.zeros((cout, cin // groups, k, k))
    bias = np.zeros(cout)
    for cv in convs:
        o = (k - cv.args.k) // 2
        weight[:, :, o : o + cv.args.k, o : o + cv.args.k] += np.asarray(w[f"{cv.id}.weight"], np.float64)
        if cv.args.bias:
            bias += np.asarray(w[f"{cv.id}.bias"], np.float64)
    rows = np.arange(cout)
    cols = rows % (cin // groups)
    centre = k // 2
    weight[rows, cols, centre, centre] += identities
    for bn in bns:
        scale, shift = bn_scale_shift(rw, bn.id, bn.args.eps)
        weight[rows, cols, centre, centre] += scale
        bias += shift
    return weight, bias


def merge_branches(rw: Rewriter) -> bool:
    changed = False
    for nid in list(rw.nodes):
        node = rw.nodes.get(nid)
        if node is not None and node.op == "add" and _merge_one(rw, node):
            changed = True
    return changed
