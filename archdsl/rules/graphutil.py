"""Small questions about IR nodes that several rules ask (no state; pure functions).

What an op is comes from the op registry (:class:`archdsl.ops.Traits`, the op's weights and stride),
never from lists of op names here: an op registered with ``norm=True`` is a norm to every rule.
"""

from __future__ import annotations

from collections.abc import Callable

from archdsl.ir import Node
from archdsl.ops import OPS, Traits
from archdsl.rules.context import GraphIndex


def traits(node: Node) -> Traits:
    return OPS[node.op].traits


def stride(node: Node) -> int:
    """The (largest) stride of a strided op; 1 for every other op."""
    return OPS[node.op].stride(node.args)


def pair(value) -> tuple[int, ...]:
    """A window, stride or padding argument as a tuple (an int ``k`` is ``(k, k)``)."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


# ---- kinds of op, from the traits (each predicate is a skip_back/through argument too) ----------


def is_norm(node: Node) -> bool:
    return traits(node).norm


def is_activation(node: Node) -> bool:
    """A non-linearity that is not a gate (relu, silu ...; not sigmoid or softmax)."""
    t = traits(node)
    return t.activation and not t.gate


def transparent(node: Node) -> bool:
    """The identity at inference (identity, dropout): passes a tensor through unchanged."""
    return traits(node).alias


def transparent_or_reshape(node: Node) -> bool:
    """An alias or a pure rearrangement (flatten): the values pass through unchanged."""
    t = traits(node)
    return t.alias or t.reshape


def pointwise(node: Node) -> bool:
    """One input, each output element from the same element of it alone: mixes neither channels
    nor pixels (norms over one channel, activations other than softmax, scale, aliases)."""
    t = traits(node)
    return t.per_channel and t.per_pixel and not t.merge


def is_convolution(node: Node) -> bool:
    """A sliding window with learned weights: strided, with parameters (conv, not the pools)."""
    return traits(node).strided and node.params > 0


def is_layer(node: Node) -> bool:
    """A learned layer that mixes channels (conv, linear, attention): not a norm, not per-channel."""
    t = traits(node)
    return node.params > 0 and not t.norm and not t.per_channel


def is_depthwise(node: Node, idx: GraphIndex) -> bool:
    """A convolution whose ``groups`` (at least 2) equals its input channels."""
    groups = getattr(node.args, "groups", 1)
    if groups < 2 or not is_convolution(node):
        return False
    return groups == idx.in_type(node).c


def is_grouped(node: Node, idx: GraphIndex) -> bool:
    """A grouped convolution that is not depthwise: ``groups`` columns of channels."""
    return is_convolution(node) and getattr(node.args, "groups", 1) >= 2 and not is_depthwise(node, idx)


def downsamples(node: Node, idx: GraphIndex) -> bool:
    """Whether the op reduces the spatial resolution of a feature map by striding.

    Global pooling (``gap``) is not downsampling, and neither are token ops.
    """
    if not node.inputs or traits(node).global_pool:
        return False
    tin = idx.in_type(node)
    if tin.layout != "chw" or node.out.layout != "chw":
        return False
    if traits(node).strided:
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


def skip_back(node: Node | None, idx: GraphIndex, through: Callable[[Node], bool]) -> Node | None:
    """The first producer upstream of ``node`` (inclusive) for which ``through`` is false.

    ``through`` is one of the predicates above (``transparent``, ``pointwise`` ...). Remembered for
    every node on the way (per predicate), so many consumers of one long chain of pass-through ops
    walk it once.
    """
    memo: dict[str, Node | None] = idx.memo(f"skip_back:{through.__module__}.{through.__qualname__}", dict)
    walked: list[str] = []
    while node is not None and through(node) and node.inputs:
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
