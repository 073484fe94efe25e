"""AR203 channels-not-divisible: hardware-friendly layer widths."""

from __future__ import annotations

from pydantic import Field

from archdsl.diagnostics import Severity
from archdsl.ir import Graph, Node
from archdsl.rules.base import Finding, Rule, RuleOptions
from archdsl.rules.context import LintContext
from archdsl.rules.graphutil import is_depthwise, is_layer, transparent_or_reshape


class Options(RuleOptions):
    divisor: int = Field(default=8, ge=1)
    skip_classifier: bool = True


def _has_width(node: Node) -> bool:
    """A learned layer whose output width is its argument ``c`` (conv, linear)."""
    return is_layer(node) and isinstance(getattr(node.args, "c", None), int)


class ChannelsNotDivisible(Rule):
    """
    ## What it does
    Flags convolutions and linear layers whose output width is not a multiple of 8.

    The multiple is the `divisor` option. The classifier (the layer that produces the net's output) is exempt, and
    a depthwise convolution is exempt because its width is its input's.

    ## Why is this bad?
    Vector units, GEMM kernels and tensor cores work in tiles of 4, 8 or 16 channels (NEON holds
    4 floats, int8 kernels 16): a layer of 21 channels pays for 24 and wastes the rest, and some
    fast kernels only take aligned widths. This is why timm rounds every width with
    `make_divisible(v, 8)`. It is a performance hint (severity info by default): a net can have
    good reasons for odd widths.

    ## Example
    ```arch
    net example {
        input image [3, 32, 32]
        stem = conv(20, k = 3) -> bn -> relu
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    net example {
        input image [3, 32, 32]
        stem = conv(make_divisible(20), k = 3) -> bn -> relu
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Options
    - `divisor` (integer, default 8): the multiple that widths should be.
    - `skip-classifier` (boolean, default true): do not check the layer that produces the
      net's output (its width is the number of classes).
    """

    code = "AR203"
    name = "channels-not-divisible"
    severity = Severity.INFO
    options = Options

    def check_graph(self, ctx: LintContext, graph: Graph, options: Options) -> list[Finding]:
        idx = ctx.index(graph)
        classifier = idx.nodes.get(graph.output)
        while classifier is not None and transparent_or_reshape(classifier):
            classifier = idx.producer(classifier)
        out = []
        for node in graph.nodes:
            if not _has_width(node):
                continue
            if options.skip_classifier and classifier is not None and node.id == classifier.id:
                continue
            if is_depthwise(node, idx):
                continue
            c = node.args.c
            if c % options.divisor == 0:
                continue
            span, notes = ctx.locate(graph, node.id)
            d = options.divisor
            lo, hi = c // d * d, (c // d + 1) * d
            out.append(
                self.finding(
                    f"'{node.op}' has {c} output channels, not a multiple of {d}",
                    span,
                    help=f"round to {hi}" + (f" or {lo}" if lo else "") + f" (make_divisible(v, {d}))",
                    notes=notes,
                    net=graph.name,
                    path=node.id,
                )
            )
        return out
