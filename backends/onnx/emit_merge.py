"""concat, add, mul, channel shuffle and channel slices."""

from __future__ import annotations

from archdsl.ir import Node

from .builder import Builder


def _channel_axis(node: Node) -> int:
    return 1 if node.out.layout == "chw" else -1


def emit_concat(b: Builder, node: Node, xs: list[str]) -> str:
    return b.add("Concat", xs, node.id, axis=_channel_axis(node))


def emit_add(b: Builder, node: Node, xs: list[str]) -> str:
    return b.add("Add" if len(xs) == 2 else "Sum", xs, node.id)


def emit_mul(b: Builder, node: Node, xs: list[str]) -> str:
    acc = xs[0]
    for j, x in enumerate(xs[1:], 1):
        acc = b.add("Mul", [acc, x], node.id if j == len(xs) - 1 else f"{node.id}/{j}")
    return acc


def emit_shuffle(b: Builder, node: Node, xs: list[str]) -> str:
    """``x.view(B, g, C/g, H, W).transpose(1, 2).reshape(B, C, H, W)`` (0 keeps the batch size)."""
    g = node.args.groups
    c, h, w = node.out.shape
    i = node.id
    grouped = b.add("Reshape", [xs[0], b.ints(f"{i}/grouped_shape", [0, g, c // g, h, w])], f"{i}/grouped")
    swapped = b.add("Transpose", [grouped], f"{i}/transposed", perm=[0, 2, 1, 3, 4])
    return b.add("Reshape", [swapped, b.ints(f"{i}/shape", [0, c, h, w])], i)


def emit_slice(b: Builder, node: Node, xs: list[str]) -> str:
    """A channel slice; slices that tile their input (``columns(split = true)``) become one Split."""
    group = b.split_groups.get(node.id)
    if group is not None:
        if node.id == group.first:
            sizes = b.ints(f"{group.name}/sizes", group.sizes)
            b.add_multi("Split", [xs[0], sizes], list(group.outputs), group.name, axis=1)
        return node.id
    a = node.args
    i = node.id
    return b.add(
        "Slice",
        [xs[0], b.ints(f"{i}/start", [a.start]), b.ints(f"{i}/stop", [a.stop]), b.ints("const/axes[1]", [1])],
        i,
    )
