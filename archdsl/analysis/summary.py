"""Summaries of a graph grouped by path: stages at depth 1, their parts at depth 2, and so on.

A group's output shape is the output of its last node in topological order, which is the tensor
the group hands on (every construct of the language ends in the op that produces its result).
"""

from __future__ import annotations

from dataclasses import dataclass

from archdsl.ir import Graph
from archdsl.ops import TensorType


@dataclass(frozen=True)
class Row:
    path: str
    depth: int
    kind: str
    out: TensorType
    params: int
    macs: int
    nodes: int


def _prefix(path: str, depth: int) -> str:
    return ".".join(path.split(".")[:depth])


def summarize(graph: Graph, depth: int = 1) -> list[Row]:
    """Rows for every group of nodes down to ``depth`` path segments, in graph order.

    A row at depth d aggregates every node whose path starts with that d-segment prefix.
    """
    depth = max(1, depth)
    kinds: dict[str, str] = {}
    for s in graph.scopes:
        if s.kind == "block":
            kinds.setdefault(s.path, s.name)
        elif s.kind not in ("stage",):
            kinds.setdefault(s.path, s.kind)
    order: list[str] = []
    agg: dict[str, list] = {}
    for n in graph.nodes:
        segs = n.id.split(".")
        for d in range(1, min(depth, len(segs)) + 1):
            key = ".".join(segs[:d])
            if key not in agg:
                agg[key] = [d, n.out, 0, 0, 0, n.op if key == n.id else None]
                order.append(key)
            a = agg[key]
            a[1] = n.out
            a[2] += n.params
            a[3] += n.macs
            a[4] += 1
    rows = []
    for key in order:
        d, out, params, macs, count, op = agg[key]
        kind = op if op is not None and count == 1 else kinds.get(key, "")
        rows.append(Row(key, d, kind, out, params, macs, count))
    return rows
