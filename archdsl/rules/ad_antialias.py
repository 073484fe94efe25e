"""AD103 aliased-downsampling: the AttendNeXt paper's third design constraint."""

from __future__ import annotations

from pydantic import Field

from archdsl.diagnostics import Severity
from archdsl.ir import Graph, Node
from archdsl.rules.base import Finding, Rule, RuleOptions
from archdsl.rules.context import GraphIndex, LintContext
from archdsl.rules.graphutil import (
    downsamples,
    is_convolution,
    is_depthwise,
    pair,
    persists,
    skip_back,
    stride,
    traits,
    transparent,
)


class Options(RuleOptions):
    min_filter: int = Field(default=2, ge=1)
    allow_avgpool: bool = False


def _is_blur(node: Node | None, min_filter: int) -> bool:
    return node is not None and traits(node).antialias and getattr(node.args, "filt", 0) >= min_filter


def _box_filter(node: Node) -> bool:
    """A fixed linear window that is not a blur (average pooling): a weak low-pass filter."""
    t = traits(node)
    return t.strided and t.linear and t.per_channel and not t.antialias and node.params == 0


def anti_aliased(node: Node, idx: GraphIndex, opts: Options) -> bool:
    """A blur pool with a real filter, or a strided linear op (conv, avgpool) right after a stride-1 blur.

    A stride-2 blur pool before another strided op does not count: its output fills the band of
    the new resolution, so subsampling it again aliases. Max pooling is not linear; its
    anti-aliased form is ``maxpool(k, s = 1) -> blurpool`` (Zhang's MaxBlurPool), in which the
    max pool does not downsample at all. What an op is comes from its traits (``antialias``,
    ``linear``), not its name.
    """
    if traits(node).antialias:
        return getattr(node.args, "filt", 0) >= opts.min_filter
    if _box_filter(node) and opts.allow_avgpool:
        return True
    if not traits(node).linear:
        return False
    prev = skip_back(idx.producer(node), idx, transparent)
    return _is_blur(prev, opts.min_filter) and stride(prev) == 1


def _help(node: Node) -> str:
    t = traits(node)
    if t.strided and not t.linear:
        return f"pool at stride 1, then blur-pool: {node.op}(k, s = 1, p = ...) -> aads (MaxBlurPool)"
    if _box_filter(node):
        return "use a blur pool instead (std's aads, blurpool(3, s = 2))"
    if t.antialias:
        return "use a binomial filter of 3 or more: blurpool(3, s = 2) (std's aads)"
    return (
        "make the op stride 1 and follow it with a blur pool (std's aads), "
        "or blur first: blurpool(3, s = 1) -> conv(..., s = 2)"
    )


def _window(node: Node) -> str:
    return "×".join(str(k) for k in pair(node.args.k))


def _describe(node: Node, idx: GraphIndex) -> str:
    s = stride(node)
    t = traits(node)
    if is_convolution(node):
        kind = "depthwise " if is_depthwise(node, idx) else ""
        return f"strided {kind}convolution ({_window(node)}, stride {s})"
    if t.antialias:
        return f"blur pool with filter {node.args.filt} (no low-pass filter) at stride {s}"
    if t.strided and t.per_channel and hasattr(node.args, "k"):
        return f"{node.op[:3]} pooling alone ({_window(node)}, stride {s})"
    return f"'{node.op}'"


class AliasedDownsampling(Rule):
    """
    ## What it does
    Checks that every spatial downsampling is anti-aliased (AADS).

    Anti-aliased means: the resolution is reduced by a blur pool (`blurpool` with a filter of 2 or
    more, the standard library's `aads`), or by a strided convolution or average pool whose input
    comes straight from a stride-1 blur pool (low-pass, then subsample). Max pooling is
    anti-aliased as `maxpool(k, s = 1) -> aads` (Zhang's MaxBlurPool).

    A strided convolution (depthwise or not), max or average pooling alone, a strided op after
    a strided blur pool (the blur served the previous downsampling), or a blur pool with filter 1
    is flagged. Downsampling that does not reach the output, because the branch is
    upsampled back before it rejoins (the condensation inside an attention condenser such as
    `dcac`), is not a downsampling of the network and is not checked. Global pooling is not
    downsampling either.

    ## Why is this bad?
    Subsampling without low-pass filtering aliases: high frequencies fold into low ones, and
    a shift of the input by one pixel can change the output a lot (Zhang 2019, "Making
    Convolutional Networks Shift-Invariant Again"). AttendNeXt's design constraint 3 encourages
    anti-aliased downsampling throughout "to improve network stability and robustness"; it
    downsamples as `conv(k = 3, s = 1) -> bn -> act -> aads`.

    ## Example
    ```arch
    net example {
        input image [3, 64, 64]
        stem = conv(16, k = 3, s = 2) -> bn -> relu
        stage1 = conv(32, k = 3) -> bn -> relu -> maxpool(2)
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    import std

    net example {
        input image [3, 64, 64]
        stem = conv(16, k = 3) -> bn -> relu -> aads
        stage1 = conv(32, k = 3) -> bn -> relu -> maxpool(3, s = 1, p = 1) -> aads
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Options
    - `min-filter` (integer, default 2): the smallest blur filter that counts as a low-pass
      filter (filter 1 is plain subsampling).
    - `allow-avgpool` (boolean, default false): accept average pooling as anti-aliased (a box
      filter, weaker than the binomial filter of a blur pool).
    """

    code = "AD103"
    name = "aliased-downsampling"
    severity = Severity.WARNING
    options = Options

    def check_graph(self, ctx: LintContext, graph: Graph, options: Options) -> list[Finding]:
        idx = ctx.index(graph)
        out = []
        for node in graph.nodes:
            if not downsamples(node, idx) or anti_aliased(node, idx, options) or not persists(node, idx):
                continue
            span, notes = ctx.locate(graph, node.id)
            tin = idx.in_type(node)
            out.append(
                self.finding(
                    f"downsampling without anti-aliasing: {_describe(node, idx)} takes "
                    f"{tin.h}×{tin.w} to {node.out.h}×{node.out.w}",
                    span,
                    help=_help(node),
                    notes=notes,
                    net=graph.name,
                    path=node.id,
                )
            )
        return out
