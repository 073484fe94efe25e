"""AR206 duplicate-norm and AR208 bias-before-batch-norm: normalisation slips."""

from __future__ import annotations

from archdsl.diagnostics import Severity
from archdsl.ir import Graph, Node
from archdsl.ops import OPS
from archdsl.rules.base import Finding, Rule, RuleOptions
from archdsl.rules.context import GraphIndex, LintContext
from archdsl.rules.graphutil import is_layer, is_norm, only_consumer, skip_back, traits, transparent


class DuplicateNorm(Rule):
    """
    ## What it does
    Flags a normalisation layer directly after another normalisation layer.

    Normalisation layers are the ops the registry marks as norms (`bn`, `layernorm` ...); only ops that are
    the identity at inference (`identity`, `dropout`) may stand between.

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
            if not is_norm(node) or not node.inputs:
                continue
            prev = skip_back(idx.producer(node), idx, transparent)
            if prev is None or not is_norm(prev):
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


def _channel_bias(node: Node, idx: GraphIndex) -> int:
    """The size of a learned layer's per-output-channel bias (its weight ``bias`` of shape ``[C]``), or 0.

    Norms have a bias too; a norm before a norm is AR206's business."""
    if not is_layer(node):
        return 0
    ins = [idx.graph.type_of(i) for i in node.inputs]
    for w in OPS[node.op].weights(node.args, ins, node.out):
        if w.name == "bias" and not w.buffer and w.shape == (node.out.c,):
            return w.numel
    return 0


def _per_channel_norm(node: Node) -> bool:
    """A norm that normalises each channel by its own statistics (batch norm): it subtracts each
    channel's mean, so a per-channel bias before it cancels. Layer and group norms do not."""
    t = traits(node)
    return t.norm and t.per_channel


class BiasBeforeBatchNorm(Rule):
    """
    ## What it does
    Flags a convolution with `bias = true` whose only consumer is a batch norm.

    Any op with a learned per-channel bias counts, and any norm that normalises each channel by its
    own statistics (the registry's norms that are per-channel: `bn`); `identity` or `dropout` may stand
    between.

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
            bias = _channel_bias(node, idx)
            if not bias:
                continue
            nxt = only_consumer(node, idx)
            while nxt is not None and transparent(nxt):
                nxt = only_consumer(nxt, idx)
            if nxt is None or not _per_channel_norm(nxt):
                continue
            span, notes = ctx.locate(graph, node.id)
            out.append(
                self.finding(
                    f"the {node.op}'s bias ({bias} parameters) is cancelled by the batch norm after it",
                    span,
                    help="drop bias = true",
                    notes=notes,
                    net=graph.name,
                    path=node.id,
                )
            )
        return out
