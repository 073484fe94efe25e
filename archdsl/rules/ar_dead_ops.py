"""AR207 dead-ops: computations whose result never reaches the net's output."""

from __future__ import annotations

from archdsl.diagnostics import Severity
from archdsl.ir import Graph
from archdsl.rules.base import Finding, Rule, RuleOptions
from archdsl.rules.context import LintContext


class DeadOps(Rule):
    """
    ## What it does
    Flags ops whose result never reaches the net's output.

    Typically a named tensor that nothing uses, or a branch that is computed and dropped. One
    finding per dead region, at its first op.

    ## Why is this bad?
    Dead ops still count in the parameter and MAC totals that `archdsl show` reports and that
    budgets check, and a backend may still build (and a deployment still ship) their weights.
    Most often the spec meant to use the tensor, e.g. in an `add` or `mul`, and forgot.

    ## Example
    ```arch
    block gated(c) {
        g = gap -> conv(c) -> sigmoid
        in -> conv(c, k = 3) -> bn -> relu
    }

    net example {
        input image [3, 32, 32]
        stem = conv(16, k = 3) -> bn -> relu
        stage1 = gated(16)
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    block gated(c) {
        g = gap -> conv(c) -> sigmoid
        x = in -> conv(c, k = 3) -> bn -> relu
        mul(x, g)
    }

    net example {
        input image [3, 32, 32]
        stem = conv(16, k = 3) -> bn -> relu
        stage1 = gated(16)
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Options
    None.
    """

    code = "AR207"
    name = "dead-ops"
    severity = Severity.WARNING

    def check_graph(self, ctx: LintContext, graph: Graph, options: RuleOptions) -> list[Finding]:
        idx = ctx.index(graph)
        live = idx.live
        dead = [n for n in graph.nodes if n.id not in live]
        dead_ids = {n.id for n in dead}
        # dead regions: the connected groups of dead ops (union-find over their edges), so that
        # many dead branches feeding one long dead chain cost one pass, not one walk each
        parent = {nid: nid for nid in dead_ids}

        def root(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for n in dead:
            for i in n.inputs:
                if i in dead_ids:
                    a, b = root(n.id), root(i)
                    if a != b:
                        parent[a] = b
        regions: dict[str, list] = {}
        for n in dead:  # graph order: a region's first op has no dead input
            regions.setdefault(root(n.id), []).append(n)
        out = []
        for members in regions.values():
            node = members[0]
            params = sum(m.params for m in members)
            span, notes = ctx.locate(graph, node.id)
            others = [m for m in members[1:] if not any(i in dead_ids for i in m.inputs)]
            if others:
                shown = ", ".join(f"'{m.op}' ({ctx.locate(graph, m.id)[0]})" for m in others[:3])
                more = f", … ({len(others) - 3} more)" if len(others) > 3 else ""
                notes = (*notes, f"the region also starts at {shown}{more}")
            ops = f"{len(members)} op{'s' if len(members) != 1 else ''}"
            out.append(
                self.finding(
                    f"the result of '{node.op}' never reaches the output ({ops}, {params:,} parameters are dead)",
                    span,
                    help="use the tensor (e.g. in add(...) or mul(...)) or delete the statement",
                    notes=notes,
                    net=graph.name,
                    path=node.id,
                )
            )
        return out
