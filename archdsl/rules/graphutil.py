"""Small questions about IR nodes that several rules ask (no state; pure functions)."""

from __future__ import annotations

from collections.abc import Iterable

from archdsl.ir import Node
from archdsl.rules.context import GraphIndex

NORMS = frozenset({"bn", "layernorm"})
ACTIVATIONS = frozenset({"relu", "relu6", "hardswish", "silu", "gelu", "tanh"})
GATES = frozenset({"sigmoid", "hardsigmoid", "softmax"})
#: ops that pass a tensor through unchanged in shape and do not mix channels or pixels
TRANSPARENT = frozenset({"identity", "dropout"})
PER_CHANNEL = frozenset({"bn", "scale", "identity", "dropout"}) | ACTIVATIONS | GATES - {"softmax"}
STRIDED = frozenset({"conv", "maxpool", "avgpool", "blurpool"})


def stride(node: Node) -> int:
    if node.op in STRIDED:
        s = getattr(node.args, "s", 1)
        return s if s is not None else getattr(node.args, "k", 1)
    return 1


def is_depthwise(node: Node, idx: GraphIndex) -> bool:
    if node.op != "conv" or node.args.groups < 2:
        return False
    return node.args.groups == idx.in_type(node).c


def is_grouped(node: Node, idx: GraphIndex) -> bool:
    """A grouped convolution that is not depthwise: ``groups`` columns of channels."""
    return node.op == "conv" and node.args.groups >= 2 and not is_depthwise(node, idx)


def downsamples(node: Node, idx: GraphIndex) -> bool:
    """Whether the op reduces the spatial resolution of a feature map by striding.

    Global pooling (``gap``) is not downsampling, and neither are token ops.
    """
    if not node.inputs or node.op == "gap":
        return False
    tin = idx.in_type(node)
    if tin.layout != "chw" or node.out.layout != "chw":
        return False
    if node.op in STRIDED:
        return stride(node) > 1 and (node.out.h < tin.h or node.out.w < tin.w)
    return node.out.h * 2 <= tin.h or node.out.w * 2 <= tin.w


def persists(node: Node, idx: GraphIndex) -> bool:
    """Whether a reduction of resolution at ``node`` reaches the net's output.

    Attention condensers pool, compute, then upsample back: the lower resolution lives only inside
    the branch. Walks forward from the node and stops where a tensor is back to the node's input
    resolution; True when some path reaches the output at the reduced resolution.

    The answers of every node walked are remembered per input resolution, so a thousand columns
    that each downsample and then join one long trunk walk the trunk once, not a thousand times.
    """
    tin = idx.in_type(node)
    h, w = tin.h, tin.w
    memo: dict[str, bool] = idx.memo(f"persists:{h}x{w}", dict)
    output = idx.graph.output

    def onward(nid: str) -> list[str]:  # the consumers that are still below the resolution
        out = []
        for c in idx.consumers.get(nid, ()):
            n = idx.nodes[c]
            if not (n.out.layout == "chw" and n.out.h >= h and n.out.w >= w):
                out.append(c)
        return out

    stack: list[tuple[str, bool]] = [(node.id, False)]
    open_: set[str] = set()
    while stack:
        nid, done = stack.pop()
        if done:
            open_.discard(nid)
            memo[nid] = any(memo.get(c, False) for c in onward(nid))
            continue
        if nid in memo or nid in open_:
            continue
        if nid == output:
            memo[nid] = True
            continue
        open_.add(nid)
        stack.append((nid, True))
        stack.extend((c, False) for c in onward(nid) if c not in memo)
    return memo[node.id]


def skip_back(node: Node | None, idx: GraphIndex, through: Iterable[str]) -> Node | None:
    """The first producer upstream of ``node`` (inclusive) whose op is not in ``through``.

    Remembered for every node on the way (per set of ops), so many consumers of one long chain
    of pass-through ops walk it once.
    """
    through = frozenset(through)
    memo: dict[str, Node | None] = idx.memo(f"skip_back:{','.join(sorted(through))}", dict)
    walked: list[str] = []
    while node is not None and node.op in through and node.inputs:
        if node.id in memo:
            node = memo[node.id]
            break
        walked.append(node.id)
        node = idx.producer(node)
    for nid in walked:
        memo[nid] = node
    return node


def only_consumer(node: Node, idx: GraphIndex) -> Node | None:
    nxt = idx.next_nodes(node)
    return nxt[0] if len(nxt) == 1 else None
