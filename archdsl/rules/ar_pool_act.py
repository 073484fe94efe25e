"""AR205 activation-after-global-pool."""

from __future__ import annotations

from archdsl.diagnostics import Severity
from archdsl.ir import Graph
from archdsl.rules.base import Finding, Rule, RuleOptions
from archdsl.rules.context import LintContext
from archdsl.rules.graphutil import is_activation, skip_back, traits, transparent_or_reshape


class ActivationAfterGlobalPool(Rule):
    """
    ## What it does
    Flags an activation applied directly to the output of a global pool.

    Activations are the registry's activations that are not gates (ReLU, ReLU6, SiLU, GELU,
    hard-swish, tanh ...); "directly" allows reshapes and aliases (`flatten`, `identity`, `dropout`)
    between the pool and the activation, on the way to the classifier.

    ## Why is this bad?
    The features before the pool have normally gone through an activation already: ReLU after
    the pool is then a no-op that costs a kernel, and a non-monotone activation (SiLU,
    hard-swish) bends the averaged features without any weights to learn from it. MobileNetV3
    applies hard-swish after a 1×1 convolution on the pooled features, not to the pool itself.
    Gates (sigmoid, hard-sigmoid) are not flagged.

    ## Example
    ```arch
    net example {
        input image [3, 32, 32]
        stem = conv(16, k = 3) -> bn -> relu
        head = gap -> flatten -> relu -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    net example {
        input image [3, 32, 32]
        stem = conv(16, k = 3) -> bn -> relu
        head = gap -> conv(64, bias = true) -> hardswish -> flatten -> linear(10)
    }
    ```

    ## Options
    None.
    """

    code = "AR205"
    name = "activation-after-global-pool"
    severity = Severity.WARNING

    def check_graph(self, ctx: LintContext, graph: Graph, options: RuleOptions) -> list[Finding]:
        idx = ctx.index(graph)
        out = []
        for node in graph.nodes:
            if not is_activation(node) or not node.inputs:
                continue
            prev = skip_back(idx.producer(node), idx, transparent_or_reshape)
            if prev is None or not traits(prev).global_pool:
                continue
            span, notes = ctx.locate(graph, node.id)
            out.append(
                self.finding(
                    f"'{node.op}' directly after the global pool",
                    span,
                    help="remove it, or put a conv/linear layer between the pool and the activation",
                    notes=notes,
                    net=graph.name,
                    path=node.id,
                )
            )
        return out
