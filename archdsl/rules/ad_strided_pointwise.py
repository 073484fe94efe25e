"""AD102 strided-pointwise-conv: the AttendNeXt paper's second design constraint."""

from __future__ import annotations

import math

from archdsl.diagnostics import Severity
from archdsl.ir import Graph
from archdsl.rules.base import Finding, Rule, RuleOptions
from archdsl.rules.context import LintContext
from archdsl.rules.graphutil import is_convolution, pair, stride


class StridedPointwiseConv(Rule):
    """
    ## What it does
    Flags point-wise (1×1) convolutions with a stride above 1.

    ## Why is this bad?
    A 1×1 kernel with stride s reads one pixel in every s×s window and never looks at the
    others: at stride 2 three quarters of the input is thrown away before any computation sees
    it. This is the "considerable information loss seen in many residual network designs"
    (the projection shortcut of ResNet's downsampling blocks) that AttendNeXt's design
    constraint 2 restricts. Downsample first (an anti-aliased blur pool, or an average pool as
    in ResNet-D), then apply the 1×1 convolution at stride 1.

    ## Example
    ```arch
    net example {
        input image [3, 64, 64]
        stem = conv(16, k = 3) -> bn -> relu
        down = conv(32, k = 1, s = 2) -> bn -> relu
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    net example {
        input image [3, 64, 64]
        stem = conv(16, k = 3) -> bn -> relu
        down = blurpool(3, s = 2) -> conv(32, k = 1) -> bn -> relu
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Options
    None.
    """

    code = "AD102"
    name = "strided-pointwise-conv"
    severity = Severity.ERROR

    def check_graph(self, ctx: LintContext, graph: Graph, options: RuleOptions) -> list[Finding]:
        out = []
        for node in graph.nodes:
            if is_convolution(node) and set(pair(node.args.k)) == {1} and stride(node) > 1:
                s = node.args.s
                n = math.prod(pair(s))
                span, notes = ctx.locate(graph, node.id)
                out.append(
                    self.finding(
                        f"point-wise (1×1) convolution with stride {s} discards {n - 1} of every {n} input pixels",
                        span,
                        help="downsample before it (blurpool(3, s = 2) or avgpool(2)) and use stride 1",
                        notes=notes,
                        net=graph.name,
                        path=node.id,
                    )
                )
        return out
