"""Inference-time rewrites of the IR before emission: the folds that make the ONNX graph lean.

All of them are exact algebra on the weights (computed in float64, stored as float32), so the
graph computes what the IR says up to float rounding:

- ``identity`` and ``dropout`` disappear (their consumers read the input).
- Batch norm after a convolution whose only consumer it is folds into that convolution:
  ``W' = W * s``, ``b' = (b - mean) * s + beta`` with ``s = gamma / sqrt(var + eps)``. The
  convolution keeps its path; the BN's result becomes the convolution's output tensor.
- Parallel branches joined by an ``add`` merge into one convolution (MobileOne / RepVGG
  re-parameterisation) when every input of the add is a convolution of one tensor X (after BN
  folding), a BN of X, or X itself; the convolutions share stride, groups and output channels,
  have dilation 1, odd kernels and the same centring (``p - (k - 1) / 2``). Smaller kernels are
  zero-padded to the largest; X and BN(X) become identity kernels. The merged convolution takes
  the add's path. Nested adds (``branches > 1``) merge inside out.
- The ``1/sqrt(d)`` of attention is folded into the q rows of the ``qkv`` weight and bias.
- A nearest upsampling moves below the per-pixel ops after it (activations, channel softmax,
  scale, norms of a feature map; an add/mul of nearest upsamplings by one factor): the same values
  on s² times fewer pixels. In a DC-AC, softmax, gating product and SiLU then run at the condensed
  resolution and a single Resize ends the block.

Slices that tile the channels of one tensor (``columns(split = true)``) are grouped here so the
emitter can write them as a single Split.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from archdsl.ir import Graph, Node
from archdsl.ops import OPS, TensorType

ALIAS_OPS = ("identity", "dropout")


@dataclass(frozen=True)
class SplitGroup:
    name: str
    outputs: tuple[str, ...]  # node ids, in channel order
    sizes: tuple[int, ...]
    first: str  # the member met first in graph order: the Split is emitted there


@dataclass
class Lowered:
    nodes: list[Node]
    alias: dict[str, str]
    weights: dict[str, np.ndarray]
    types: dict[str, TensorType]
    split_groups: dict[str, SplitGroup] = field(default_factory=dict)
    stats: Counter = field(default_factory=Counter)

    def resolve(self, ref: str) -> str:
        while ref in self.alias:
            ref = self.alias[ref]
        return ref


def _f64(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def _bn_scale_shift(w: dict[str, np.ndarray], bn: Node) -> tuple[np.ndarray, np.ndarray]:
    i = bn.id
    s = _f64(w[f"{i}.weight"]) / np.sqrt(_f64(w[f"{i}.running_var"]) + bn.args.eps)
    return s, _f64(w[f"{i}.bias"]) - _f64(w[f"{i}.running_mean"]) * s


def _fold_bn(conv: Node, bn: Node, w: dict[str, np.ndarray]) -> Node:
    s, t = _bn_scale_shift(w, bn)
    weight = _f64(w[f"{conv.id}.weight"])
    bias = _f64(w[f"{conv.id}.bias"]) if conv.args.bias else np.zeros(conv.args.c)
    w[f"{conv.id}.weight"] = (weight * s[:, None, None, None]).astype(np.float32)
    w[f"{conv.id}.bias"] = (bias * s + t).astype(np.float32)
    return conv.model_copy(update={"args": conv.args.model_copy(update={"bias": True}), "out": bn.out})


def _merge_branches(add: Node, out: dict[str, Node], consumers: Counter, types, w) -> tuple[Node, list[str]] | None:
    """The single convolution equal to ``add``'s branches, and the branch nodes it replaces."""
    xs = {out[i].inputs[0] for i in add.inputs if i in out and out[i].op == "conv"}
    if len(xs) != 1:
        return None
    (x,) = xs
    convs: list[Node] = []
    bns: list[Node] = []
    identities = 0
    for i in add.inputs:
        nd = out.get(i)
        if i == x:
            identities += 1
        elif nd is not None and nd.op in ("conv", "bn") and nd.inputs[0] == x and consumers[i] == 1:
            (convs if nd.op == "conv" else bns).append(nd)
        else:
            return None
    first = convs[0].args
    cin = types[x].c
    offsets = set()
    for cv in convs:
        a = cv.args
        if (a.s, a.groups, a.c, a.d) != (first.s, first.groups, first.c, 1) or a.k % 2 == 0:
            return None
        offsets.add(a.p - (a.k - 1) // 2)
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    if (bns or identities) and (first.s != 1 or offset != 0 or first.c != cin):
        return None
    k = max(cv.args.k for cv in convs)
    g = first.groups
    weight = np.zeros((first.c, cin // g, k, k))
    bias = np.zeros(first.c)
    for cv in convs:
        o = (k - cv.args.k) // 2
        weight[:, :, o : o + cv.args.k, o : o + cv.args.k] += _f64(w[f"{cv.id}.weight"])
        if cv.args.bias:
            bias += _f64(w[f"{cv.id}.bias"])
    rows = np.arange(first.c)
    cols = rows % (cin // g)
    centre = k // 2
    weight[rows, cols, centre, centre] += identities
    for bn in bns:
        s, t = _bn_scale_shift(w, bn)
        weight[rows, cols, centre, centre] += s
        bias += t
    args = OPS["conv"].args(c=first.c, k=k, s=first.s, p=offset + (k - 1) // 2, d=1, groups=g, bias=True)
    w[f"{add.id}.weight"] = weight.astype(np.float32)
    w[f"{add.id}.bias"] = bias.astype(np.float32)
    spec = OPS["conv"]
    merged = Node(
        id=add.id,
        op="conv",
        args=args,
        inputs=(x,),
        out=add.out,
        params=spec.params(args, [types[x]], add.out),
        macs=spec.macs(args, [types[x]], add.out),
        span=add.span,
    )
    return merged, [n.id for n in convs + bns]


def _fold_attention_scale(node: Node, w: dict[str, np.ndarray]) -> None:
    c = node.out.c
    scale = 1.0 / math.sqrt(c // node.args.heads)
    weight = _f64(w[f"{node.id}.qkv.weight"])
    weight[:c] *= scale
    w[f"{node.id}.qkv.weight"] = weight.astype(np.float32)
    if node.args.bias:
        bias = _f64(w[f"{node.id}.qkv.bias"])
        bias[:c] *= scale
        w[f"{node.id}.qkv.bias"] = bias.astype(np.float32)


def _split_groups(nodes: list[Node], types: dict[str, TensorType]) -> dict[str, SplitGroup]:
    by_input: dict[str, list[Node]] = {}
    for n in nodes:
        if n.op == "slice":
            by_input.setdefault(n.inputs[0], []).append(n)
    taken = {n.id for n in nodes}
    groups: dict[str, SplitGroup] = {}
    for x, members in by_input.items():
        ordered = sorted(members, key=lambda n: n.args.start)
        bounds = [(n.args.start, n.args.stop) for n in ordered]
        tiles = len(ordered) > 1 and bounds[0][0] == 0 and bounds[-1][1] == types[x].c
        tiles = tiles and all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
        if not tiles:
            continue
        segs = [n.id.split(".") for n in ordered]
        common = []
        for parts in zip(*segs, strict=False):
            if len(set(parts)) != 1:
                break
            common.append(parts[0])
        name = ".".join([*common, "split"]) if common else f"{ordered[0].id}/split"
        while name in taken:
            name += "_"
        taken.add(name)
        group = SplitGroup(name, tuple(n.id for n in ordered), tuple(b - a for a, b in bounds), members[0].id)
        for n in ordered:
            groups[n.id] = group
    return groups


PER_PIXEL = ("bn", "layernorm", "scale", "softmax", "relu", "relu6", "hardswish", "hardsigmoid", "sigmoid", "silu",
             "gelu", "tanh")  # fmt: skip


def _is_nearest(node: Node | None, consumers: Counter) -> bool:
    return node is not None and node.op == "upsample" and node.args.mode == "nearest" and consumers[node.id] == 1


def _sink_upsample(n: Node, out: dict[str, Node], consumers: Counter, types) -> tuple[Node, Node] | None:
    """``op(upsample(x))`` → ``upsample(op(x))`` for an op that works pixel by pixel (and an
    elementwise add/mul of nearest upsamplings by one factor): the op then runs on s² times fewer
    pixels, and computes exactly the same values. Returns the op at low resolution and the
    upsampling to put after it, or None."""
    if n.out.layout != "chw":
        return None
    if n.op in PER_PIXEL:
        ups = [out.get(n.inputs[0])]
    elif n.op in ("add", "mul") and len(set(n.inputs)) == len(n.inputs):
        ups = [out.get(i) for i in n.inputs]
    else:
        return None
    if not all(_is_nearest(u, consumers) for u in ups):
        return None
    if len({(u.args.scale, u.out) for u in ups}) != 1 or ups[0].out != n.out:
        return None
    for u in ups:
        del out[u.id]
    low = n.model_copy(update={"inputs": tuple(u.inputs[0] for u in ups), "out": types[ups[0].inputs[0]]})
    return low, ups[0]


def lower(graph: Graph, weights: dict[str, np.ndarray], fold: bool = True, merge: bool = True) -> Lowered:
    """The nodes to emit, with the folds above applied to a copy of ``weights``."""
    w = dict(weights)
    alias: dict[str, str] = {}
    low = Lowered([], alias, w, {i.name: i.type for i in graph.inputs} | {n.id: n.out for n in graph.nodes})
    for n in graph.nodes:
        if n.op in ALIAS_OPS:
            alias[n.id] = n.inputs[0]
    consumers: Counter = Counter()
    for n in graph.nodes:
        if n.id not in alias:
            consumers.update(low.resolve(i) for i in n.inputs)
    consumers[low.resolve(graph.output)] += 1
    out: dict[str, Node] = {}

    def place(n: Node) -> None:
        """Put ``n`` (inputs resolved) into ``out``, folding it away where a rule applies."""
        if fold and n.op == "bn":
            src = out.get(n.inputs[0])
            if src is not None and src.op == "conv" and consumers[src.id] == 1:
                out[src.id] = _fold_bn(src, n, w)
                alias[n.id] = src.id
                consumers[src.id] = consumers[n.id]
                low.stats["batch norm folded"] += 1
                return
        if fold and n.op == "mhsa":
            _fold_attention_scale(n, w)
        if merge and n.op == "add":
            found = _merge_branches(n, out, consumers, low.types, w)
            if found is not None:
                merged, replaced = found
                for r in replaced:
                    del out[r]
                consumers[merged.inputs[0]] -= len(n.inputs) - 1
                out[n.id] = merged
                low.stats["branches merged"] += 1
                return
        out[n.id] = n

    for n in graph.nodes:
        if n.id in alias:
            low.stats["identity removed"] += 1
            continue
        n = n.model_copy(update={"inputs": tuple(low.resolve(i) for i in n.inputs)})
        sunk = _sink_upsample(n, out, consumers, low.types) if fold else None
        if sunk is None:
            place(n)
            continue
        small, up = sunk
        low.types[n.id] = small.out
        place(small)
        up = up.model_copy(update={"inputs": (low.resolve(n.id),), "out": n.out})
        out[up.id] = up
        low.types[up.id] = n.out
        alias[n.id] = up.id
        consumers[up.id] = consumers[n.id]
        low.stats["upsampling moved later"] += 1
    low.nodes = list(out.values())
    low.split_groups = _split_groups(low.nodes, low.types)
    return low
