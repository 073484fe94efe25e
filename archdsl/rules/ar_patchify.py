"""AR209 padded-patchify-conv: a patchify convolution (kernel = stride) that pads its input."""

from __future__ import annotations

from archdsl.diagnostics import Severity
from archdsl.ir import Graph, Node
from archdsl.rules.base import Finding, Rule, RuleOptions
from archdsl.rules.context import GraphIndex, LintContext
from archdsl.rules.graphutil import is_convolution, pair


def _ints(value) -> list[int]:
    """The numbers in a padding argument (an int, or a tuple of per-side values)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, (tuple, list)):
        return [v for item in value for v in _ints(item)]
    return []


def patchify(node: Node) -> bool:
    """A convolution whose windows tile the input: kernel = stride (above 1) on every axis, no dilation."""
    if not is_convolution(node) or not hasattr(node.args, "k"):
        return False
    k, s = pair(node.args.k), pair(node.args.s)
    return k == s and max(k) > 1 and set(pair(getattr(node.args, "d", 1))) == {1}


def _padding(node: Node) -> list[int]:
    return _ints(getattr(node.args, "p", 0))


def _one(values: tuple[int, ...] | list[int], sep: str) -> str:
    """``3`` for ``(3, 3)``; ``1, 2`` (or ``1×2``) for values that differ."""
    return str(values[0]) if len(set(values)) == 1 else sep.join(str(v) for v in values)


class PaddedPatchifyConv(Rule):
    """
    ## What it does
    Flags a patchify convolution (kernel size equal to the stride, above 1) that pads its input.

    A patchify stem cuts the image into non-overlapping k×k patches (ConvNeXt's `conv(96, k = 4,
    s = 4)`, a ViT patch embedding). `conv`'s default padding is timm's `((s-1) + d(k-1)) // 2`,
    which keeps the size of a stride-1 convolution but pads a patchify convolution too: write
    `p = 0`. Explicit zero padding (`p = 0`, `p = (0, 0)`) and TensorFlow's `p = "same"` (which pads
    only where the stride does not divide the input, and then on purpose) are not reported; any other
    padding, explicit or not, is (`p = (0, 1, 0, 1)` included: the patches do not tile the input).
    Dilated convolutions are not patchify convolutions and are not checked.

    ## Why is this bad?
    With padding the patches no longer tile the image: at 224×224, `conv(96, k = 4, s = 4)` pads
    by 3 and gives 57×57 patches instead of ConvNeXt's 56×56, the first and last patches of each
    row and column are mostly zeros, and every later stage, parameter count of the head and
    weights ported from timm (which builds the stem with `padding = 0`) no longer match.

    ## Example
    ```arch
    net example {
        input image [3, 224, 224]
        stem = conv(96, k = 4, s = 4) -> layernorm
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    net example {
        input image [3, 224, 224]
        stem = conv(96, k = 4, s = 4, p = 0) -> layernorm
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Options
    None.
    """

    code = "AR209"
    name = "padded-patchify-conv"
    severity = Severity.WARNING

    def check_graph(self, ctx: LintContext, graph: Graph, options: RuleOptions) -> list[Finding]:
        idx = ctx.index(graph)
        out = []
        for node in graph.nodes:
            if not node.inputs or not patchify(node) or not any(_padding(node)):
                continue
            out.append(self._finding(ctx, graph, node, idx))
        return out

    def _finding(self, ctx: LintContext, graph: Graph, node: Node, idx: GraphIndex) -> Finding:
        k, s = pair(node.args.k), pair(node.args.s)
        tin = idx.in_type(node)
        window = "×".join(str(v) for v in k)
        tiled = f"{tin.h // s[0]}×{tin.w // s[1]}"
        span, notes = ctx.locate(graph, node.id)
        return self.finding(
            f"patchify convolution ({window}, stride {_one(s, '×')}) pads by {_one(_padding(node), ', ')}: "
            f"{tin.h}×{tin.w} becomes {node.out.h}×{node.out.w} patches, not {tiled}",
            span,
            help="give p = 0, so that the patches tile the input (conv's default padding, ((s-1) + d(k-1)) // 2, "
            "keeps the size of stride-1 convolutions only)",
            notes=notes,
            net=graph.name,
            path=node.id,
        )
