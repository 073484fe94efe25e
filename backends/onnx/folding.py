"""The graph the ONNX backend emits: the shared IR passes (:mod:`archdsl.passes`) applied to the IR
and its weights, plus the one rewrite that is about ONNX itself (slices that tile a tensor's
channels become one Split).

The pipeline follows the options:

- always ``drop_identities`` (``identity``/``dropout`` add no ONNX node either way);
- ``fold`` (default true): ``fold_bn`` (batch norm into the convolution before it),
  ``sink_upsample`` (a nearest upsampling moves below the per-pixel ops after it: in a DC-AC the
  softmax, gating product and SiLU run at the condensed resolution and one Resize ends the block)
  and ``fold_attention_scale`` (attention's ``1/sqrt(d)`` into the query rows of ``qkv``);
- ``reparam`` (default: = fold): ``merge_branches`` (MobileOne/RepVGG branches joined by an add
  become one convolution, named ``<scope>.reparam`` as in the PyTorch backend's deploy form).

Every pass is exact algebra in float64 stored back as float32, so the graph computes what the IR
says up to float rounding; what each pass did is counted in ``stats`` (the model's
``archdsl.fold`` property).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from archdsl import passes
from archdsl.ir import Graph, Node
from archdsl.ops import TensorType


@dataclass(frozen=True)
class SplitGroup:
    name: str
    outputs: tuple[str, ...]  # node ids, in channel order
    sizes: tuple[int, ...]
    first: str  # the member met first in graph order: the Split is emitted there


@dataclass
class Lowered:
    graph: Graph
    """the rewritten graph: its nodes are emitted in order, its output is the model's"""
    weights: dict[str, np.ndarray]
    types: dict[str, TensorType]
    split_groups: dict[str, SplitGroup] = field(default_factory=dict)
    stats: Counter = field(default_factory=Counter)

    @property
    def nodes(self) -> tuple[Node, ...]:
        return self.graph.nodes

    @property
    def output(self) -> str:
        return self.graph.output


def pipeline(fold: bool = True, merge: bool = True) -> tuple[str, ...]:
    """The IR passes for these options, in the order they run (repeated to a fixed point)."""
    out = ["drop_identities"]
    if fold:
        out.append("fold_bn")
    if merge:
        out.append("merge_branches")
    if fold:
        out += ["sink_upsample", "fold_attention_scale"]
    return tuple(out)


def _split_groups(nodes: tuple[Node, ...], types: dict[str, TensorType]) -> dict[str, SplitGroup]:
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


def lower(graph: Graph, weights: dict[str, np.ndarray], fold: bool = True, merge: bool = True) -> Lowered:
    """The graph to emit and its weights (``weights`` itself is not changed)."""
    new, new_weights, stats = passes.run(graph, weights, pipeline(fold, merge))
    assert new_weights is not None
    types = {i.name: i.type for i in new.inputs} | {n.id: n.out for n in new.nodes}
    return Lowered(new, new_weights, types, _split_groups(new.nodes, types), stats)


__all__ = ["Lowered", "SplitGroup", "lower", "pipeline"]
