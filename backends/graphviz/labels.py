"""The words on the figure: op and block labels, shapes, counts, and what kind of box an op gets.

An op's label is its own (:meth:`archdsl.ops.OpSpec.title`: ``conv 3×3 · 32 · g4``, ``AADS · blur 3 ·
↓2``); what kind of op it is (a follower folded into the box before it, a merge circle, a
downsampling step) comes from its traits in the registry. Nothing here lists op names.
"""

from __future__ import annotations

from archdsl.ir import Node
from archdsl.ops import OPS, TensorType, Traits


def traits(node: Node) -> Traits:
    return OPS[node.op].traits


def follower(node: Node) -> bool:
    """An op that a block-level figure folds into the box before it (``conv 3×3 · 32`` + ``BN · SiLU``):
    a norm, a reshape, or a point-wise op on one channel (activations other than softmax, scale,
    aliases)."""
    t = traits(node)
    return t.norm or t.reshape or (t.per_channel and t.per_pixel and not t.merge)


def invisible(node: Node) -> bool:
    """An alias with nothing to say (``identity``): drawn as an edge. Dropout's rate is worth a word."""
    return traits(node).alias and not any(k != "op" for k in type(node.args).model_fields)


def selection(node: Node, in_type: TensorType | None) -> bool:
    """A view that keeps only part of its input (a channel slice): drawn as an edge into a column."""
    return traits(node).view and in_type is not None and node.out.numel < in_type.numel


def merge_symbol(node: Node) -> str | None:
    """The symbol of a merge circle: ``+`` (an elementwise sum), ``×`` (an elementwise product),
    ``C`` (a concatenation); None for an op that is not a merge."""
    t = traits(node)
    if not t.merge:
        return None
    if not t.elementwise:
        return "C"
    return "+" if t.linear else "×"


def projection(node: Node) -> bool:
    """A learned layer that mixes channels (conv, linear): the embed step of a condenser, a shortcut's projection."""
    t = traits(node)
    return node.params > 0 and not t.norm and not t.per_channel


def pooling(node: Node) -> bool:
    """A strided op that does not mix channels: max, average or blur pooling."""
    t = traits(node)
    return t.strided and t.per_channel


def expands(node: Node, in_type: TensorType | None) -> bool:
    """Raises the spatial resolution of a feature map (upsampling)."""
    return (
        in_type is not None
        and in_type.layout == "chw"
        and node.out.layout == "chw"
        and (node.out.h > in_type.h or node.out.w > in_type.w)
    )


def shape(t: TensorType) -> str:
    dims = "×".join(str(d) for d in t.shape)
    return dims if t.layout != "tokens" else f"{dims} tokens"


def count(n: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)


def stride_of(node: Node) -> int:
    return OPS[node.op].stride(node.args)


def is_downsampling(node: Node) -> bool:
    """Blur pools (AADS) and every strided op outside an attention condenser's condense step."""
    return traits(node).antialias or stride_of(node) > 1


def op_title(node: Node, in_type: TensorType | None = None) -> str:
    return OPS[node.op].title(node.args, [in_type] if in_type is not None else [])


def block_args(name: str, args: dict, out: TensorType | None) -> str:
    """The key arguments of a block instance: ``320 ch · 3×3 · g4 · mid 160``."""
    parts: list[str] = []
    if "c" in args and isinstance(args["c"], int):
        parts.append(f"{args['c']} ch")
    elif out is not None:
        parts.append(f"{out.c} ch")
    k = args.get("k")
    if isinstance(k, int) and k > 1:
        parts.append(f"{k}×{k}")
    g = args.get("groups")
    if isinstance(g, int) and g > 1:
        parts.append(f"g{g}")
    s = args.get("s")
    if isinstance(s, int) and s > 1:
        parts.append(f"↓{s}")
    for key in ("mid", "e", "r", "heads", "d", "depth"):
        v = args.get(key)
        if v is not None and not isinstance(v, bool):
            parts.append(f"{key} {v:g}" if isinstance(v, float) else f"{key} {v}")
    return " · ".join(parts)
