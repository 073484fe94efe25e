"""From a place in the text to the IR it made: output shapes, parameters and MACs.

Every IR node keeps the span of the call that made it, and every :class:`~archdsl.ir.Scope` (a
stage, a block instance, a repeat, columns) the span of the text that opened it. So the IR of a
call is the nodes (an op) or block scopes with the call's span: one for a call written once, ten
for ``bottleneck(...) * 10``, one per use for a call inside a block. A scope's numbers are those of
its nodes (the ids under its path), summed as ``archdsl show`` sums them
(:func:`archdsl.analysis.summarize`): the output is the last node's, the parameters and MACs the
sum. :class:`GraphInfo` indexes one graph for these questions; each is answered from sorted ids
in time proportional to the answer.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from archdsl.diagnostics import Span
from archdsl.ir import Graph, Node, Scope
from archdsl.ops import TensorType


def human(n: float) -> str:
    """A count as ``archdsl show`` prints it (``archdsl.cli.common.human``: the CLI is a layer above)."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(int(n))


@dataclass(frozen=True)
class Part:
    """One instance of something in the IR: its path, input and output types, parameters, MACs."""

    path: str
    inp: TensorType | None
    out: TensorType
    params: int
    macs: int
    ops: int
    kind: str = ""  # the op (one node), the block's name, 'stage' ...

    def key(self) -> tuple:
        return (self.inp, self.out, self.params, self.macs, self.ops, self.kind)


class GraphInfo:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.order = {n.id: i for i, n in enumerate(graph.nodes)}
        self.nodes = graph.node_map()
        self.ids = sorted(self.order)
        self.node_spans: dict[Span, list[Node]] = {}
        for n in graph.nodes:
            if n.span is not None:
                self.node_spans.setdefault(n.span, []).append(n)
        self.scope_spans: dict[Span, list[Scope]] = {}
        self.blocks: dict[str, list[Scope]] = {}
        self.stages: dict[str, Scope] = {}
        for s in graph.scopes:
            if s.span is not None:
                self.scope_spans.setdefault(s.span, []).append(s)
            if s.kind == "block":
                self.blocks.setdefault(s.name, []).append(s)
            elif s.kind == "stage":
                self.stages[s.path] = s

    def type_of(self, ref: str) -> TensorType | None:
        n = self.nodes.get(ref)
        if n is not None:
            return n.out
        for i in self.graph.inputs:
            if i.name == ref:
                return i.type
        return None

    def part(self, path: str, kind: str = "") -> Part | None:
        """The nodes at ``path`` and under it (``path.``…), as one :class:`Part`; None when there are none."""
        ids = [path] if path in self.order else []
        lo = bisect.bisect_left(self.ids, path + ".")
        for i in range(lo, len(self.ids)):
            if not self.ids[i].startswith(path + "."):
                break
            ids.append(self.ids[i])
        if not ids:
            return None
        inside = set(ids)
        ordered = sorted(ids, key=self.order.__getitem__)
        params = sum(self.nodes[i].params for i in ids)
        macs = sum(self.nodes[i].macs for i in ids)
        inp = None
        for i in ordered:
            outer = [r for r in self.nodes[i].inputs if r not in inside]
            if outer:
                inp = self.type_of(outer[0])
                break
        last = self.nodes[ordered[-1]]
        if len(ids) == 1 and not kind:
            kind = last.op
        return Part(path, inp, last.out, params, macs, len(ids), kind)

    def node_part(self, n: Node) -> Part:
        inp = self.type_of(n.inputs[0]) if n.inputs else None
        return Part(n.id, inp, n.out, n.params, n.macs, 1, n.op)

    # ---- what a piece of text made ----------------------------------------------------
    def of_call(self, span: Span, name: str) -> list[Part]:
        """The instances of the call written at ``span``: block instances, or op nodes."""
        scopes = [s for s in self.scope_spans.get(span, ()) if s.kind == "block"]
        if scopes:
            return [p for s in scopes if (p := self.part(s.path, s.name)) is not None]
        return [self.node_part(n) for n in self.node_spans.get(span, ())]

    def of_scope_kind(self, span: Span, kind: str) -> list[Part]:
        """Instances of the columns / residual / repeat written at ``span``."""
        return [p for s in self.scope_spans.get(span, ()) if s.kind == kind and (p := self.part(s.path, kind))]

    def of_block(self, name: str) -> list[Part]:
        return [p for s in self.blocks.get(name, ()) if (p := self.part(s.path, name)) is not None]

    def of_block_tensor(self, block: str, tensor: str) -> list[Part]:
        """A named tensor of a block's body, in every instance of the block."""
        return [p for s in self.blocks.get(block, ()) if (p := self.part(f"{s.path}.{tensor}", tensor))]

    def block_inputs(self, block: str) -> list[TensorType]:
        out = []
        for s in self.blocks.get(block, ()):
            p = self.part(s.path)
            if p is not None and p.inp is not None:
                out.append(p.inp)
        return out

    def block_args(self, block: str, param: str) -> list:
        return [s.args.get(param) for s in self.blocks.get(block, ()) if param in s.args]


def percent(params: int, graph: Graph) -> str:
    total = graph.total_params or 1
    return f"{100 * params / total:.1f}%"


def describe(part: Part, graph: Graph) -> str:
    """One line: shapes, parameters (share of the net), MACs, as ``archdsl show`` prints them."""
    shapes = f"`{part.inp}` → `{part.out}`" if part.inp is not None else f"`{part.out}`"
    return (
        f"{shapes} · {part.params:,} parameters ({percent(part.params, graph)}) · "
        f"{human(part.macs)} MACs · {part.ops} op{'s' if part.ops != 1 else ''}"
    )


def describe_all(parts: list[Part], graph: Graph, limit: int = 6) -> list[str]:
    """Markdown lines for the instances of one thing: per instance, and totals when there are several."""
    if not parts:
        return []
    if len(parts) == 1:
        return [f"output {describe(parts[0], graph)}", f"IR `{parts[0].path}`"]
    params = sum(p.params for p in parts)
    macs = sum(p.macs for p in parts)
    groups: dict[tuple, list[Part]] = {}
    for p in parts:
        groups.setdefault(p.key(), []).append(p)
    lines = [
        f"**{len(parts)} instances**, in total: {params:,} parameters ({percent(params, graph)}) · "
        f"{human(macs)} MACs ({macs:,})"
    ]
    items = []
    for i, same in enumerate(groups.values()):
        if i == limit:
            items.append(f"- … and {len(groups) - limit} more kinds")
            break
        where = f"`{same[0].path}`" + (f" and {len(same) - 1} more alike" if len(same) > 1 else "")
        items.append(f"- {where}: {'each ' if len(same) > 1 else ''}{describe(same[0], graph)}")
    return [*lines, "\n".join(items)]
