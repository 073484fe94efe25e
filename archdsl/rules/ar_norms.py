"""AR206 duplicate-norm and AR208 bias-before-batch-norm: normalisation slips."""

from __future__ import annotations

from archdsl.diagnostics import Severity
from archdsl.ir import Graph
from archdsl.rules.base import Finding, Rule, RuleOptions
from archdsl.rules.context import LintContext
from archdsl.rules.graphutil import NORMS, TRANSPARENT, only_consumer, skip_back


class DuplicateNorm(Rule):
    """
    ## What it does
    Flags a normalisation layer directly after another normalisation layer.

    Normalisation layers are `bn` and `layernorm`; only `identity` or `dropout` may stand between.

    ## Why is this bad?
    The second norm re-normalises an already normalised tensor: it adds parameters, running
    statistics and a kernel (or a fold that deployment cannot do) and changes nothing that the
    first one's affine parameters could not. It is usually a copy-paste slip, e.g. a block that
    ends in `bn` followed by a `bn` at the call site.

    ## Example
    ```arch
    import std

    net example {
        input image [3, 32, 32]
        stem = conv_bn(16) -> bn -> relu
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    import std

    net example {
        input image [3, 32, 32]
        stem = conv_bn(16) -> relu
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Options
    None.
    """

    code = "AR206"
    name = "duplicate-norm"
    severity = Severity.WARNING

    def check_graph(self, ctx: LintContext, graph: Graph, options: RuleOptions) -> list[Finding]:
        idx = ctx.index(graph)
        out = []
        for node in graph.nodes:
            if node.op not in NORMS or not node.inputs:
                continue
            prev = skip_back(idx.producer(node), idx, TRANSPARENT)
            if prev is None or prev.op not in NORMS:
                continue
            span, notes = ctx.locate(graph, node.id)
            out.append(
                self.finding(
                    f"'{node.op}' directly after '{prev.op}': the tensor is normalised twice",
                    span,
                    help="remove one of the two",
                    notes=notes,
                    net=graph.name,
                    path=node.id,
                )
            )
        return out


class BiasBeforeBatchNorm(Rule):
    """
    ## What it does
    Flags a convolution with `bias = true` whose only consumer is a batch norm.

    ## Why is this bad?
    Batch norm subtracts the per-channel mean, so a per-channel bias added just before it is
    cancelled exactly: its parameters are dead weight that the optimiser still updates. timm and
    torchvision build `conv -> bn` without the conv bias for this reason.

    ## Example
    ```arch
    net example {
        input image [3, 32, 32]
        stem = conv(16, k = 3, bias = true) -> bn -> relu
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    net example {
        input image [3, 32, 32]
        stem = conv(16, k = 3) -> bn -> relu
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Options
    None.
    """

    code = "AR208"
    name = "bias-before-batch-norm"
    severity = Severity.WARNING

    def check_graph(self, ctx: LintContext, graph: Graph, options: RuleOptions) -> list[Finding]:
        out = []
        idx = ctx.index(graph)
        for node in graph.nodes:
            if node.op != "conv" or not node.args.bias:
                continue
            nxt = only_consumer(node, idx)
            while nxt is not None and nxt.op in TRANSPARENT:
                nxt = only_consumer(nxt, idx)
            if nxt is None or nxt.op != "bn":
                continue
            span, notes = ctx.locate(graph, node.id)
            out.append(
                self.finding(
                    f"the conv's bias ({node.args.c} parameters) is cancelled by the batch norm after it",
                    span,
                    help="drop bias = true",
                    notes=notes,
                    net=graph.name,
                    path=node.id,
                )
            )
        return out
