"""AR204 consecutive-depthwise: two depthwise convolutions with no channel mixing between."""

from __future__ import annotations

from archdsl.diagnostics import Severity
from archdsl.ir import Graph
from archdsl.rules.base import Finding, Rule, RuleOptions
from archdsl.rules.context import LintContext
from archdsl.rules.graphutil import is_depthwise, pointwise, skip_back


class ConsecutiveDepthwise(Rule):
    """
    ## What it does
    Flags a depthwise convolution that directly follows another depthwise convolution.

    Only point-wise per-channel ops may stand between them (batch norm, activations other than
    softmax, scale, identity, dropout): nothing that mixes channels.

    ## Why is this bad?
    A depthwise convolution never mixes channels. Two in a row are a separable k×k filter per
    channel with a larger receptive field at twice the memory traffic: the pair pays two
    memory-bound kernels (depthwise convolutions run far below peak on CPUs) for what one larger
    depthwise kernel, or a point-wise convolution between them as in MobileNet's separable
    blocks, does better. Usually it is a slip: a missing 1×1 convolution.

    ## Example
    ```arch
    import std

    net example {
        input image [3, 32, 32]
        stem = conv(16, k = 3) -> bn -> relu
        stage1 = dw(k = 3) -> bn -> relu -> dw(k = 3) -> bn -> relu
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    import std

    net example {
        input image [3, 32, 32]
        stem = conv(16, k = 3) -> bn -> relu
        stage1 = dw(k = 5) -> bn -> relu -> conv(16) -> bn -> relu
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Options
    None.
    """

    code = "AR204"
    name = "consecutive-depthwise"
    severity = Severity.WARNING

    def check_graph(self, ctx: LintContext, graph: Graph, options: RuleOptions) -> list[Finding]:
        idx = ctx.index(graph)
        out = []
        for node in graph.nodes:
            if not is_depthwise(node, idx):
                continue
            prev = skip_back(idx.producer(node), idx, pointwise)
            if prev is None or not is_depthwise(prev, idx):
                continue
            span, notes = ctx.locate(graph, node.id)
            pspan, _ = ctx.locate(graph, prev.id)
            out.append(
                self.finding(
                    f"depthwise convolution directly after another depthwise convolution (at {pspan}); "
                    f"no channel mixing between them",
                    span,
                    help="merge them into one depthwise conv with a larger kernel, or put a point-wise "
                    "conv(c) between them",
                    notes=notes,
                    net=graph.name,
                    path=node.id,
                )
            )
        return out
