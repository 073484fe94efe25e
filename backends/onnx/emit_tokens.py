"""Token ops of MobileViT: unfold to patches, multi-head self-attention, fold back; flatten."""

from __future__ import annotations

import math

from archdsl.ir import Node

from .builder import Builder
from .emit_conv import linear


def emit_unfold(b: Builder, node: Node, xs: list[str]) -> str:
    """``[B, C, H, W]`` → ``[B, p*p, N, C]`` in timm's order (docs/ir.md): view as
    ``[B, C, nh, p, nw, p]``, move to ``[B, p, p, nh, nw, C]``, merge to ``[B, p*p, nh*nw, C]``."""
    p = node.args.p
    c, h, w = b.types[node.inputs[0]].shape
    nh, nw = h // p, w // p
    i = node.id
    six = b.add("Reshape", [xs[0], b.ints(f"{i}/patch_shape", [0, c, nh, p, nw, p])], f"{i}/patches")
    moved = b.add("Transpose", [six], f"{i}/transposed", perm=[0, 3, 5, 2, 4, 1])
    return b.add("Reshape", [moved, b.ints(f"{i}/shape", [0, p * p, nh * nw, c])], i)


def emit_fold(b: Builder, node: Node, xs: list[str]) -> str:
    """The inverse of unfold: ``[B, p*p, N, C]`` → ``[B, C, H, W]``."""
    p = node.args.p
    c, h, w = node.out.shape
    nh, nw = h // p, w // p
    i = node.id
    six = b.add("Reshape", [xs[0], b.ints(f"{i}/patch_shape", [0, p, p, nh, nw, c])], f"{i}/patches")
    moved = b.add("Transpose", [six], f"{i}/transposed", perm=[0, 5, 3, 1, 4, 2])
    return b.add("Reshape", [moved, b.ints(f"{i}/shape", [0, c, h, w])], i)


def emit_mhsa(b: Builder, node: Node, xs: list[str]) -> str:
    """timm's ``Attention`` on each of the P token sets of ``[B, P, N, C]``.

    ``qkv`` projection, split into ``heads`` heads of ``d = C/heads``, ``softmax(q kᵀ · scale) v``,
    heads merged, ``proj`` projection. ``scale`` is the op's (``None``: ``1/sqrt(d)``), applied as
    a Mul on q; after the ``fold_attention_scale`` pass it is 1 (folded into the q rows of the
    qkv weight and bias) and there is no Mul.
    """
    a = node.args
    pp, n, c = node.out.shape
    h = a.heads
    d = c // h
    i = node.id
    scale = a.scale if a.scale is not None else 1.0 / math.sqrt(d)
    qkv = linear(b, xs[0], f"{i}.qkv", f"{i}.qkv", "tokens", a.bias)
    heads = b.add("Reshape", [qkv, b.ints(f"{i}/heads_shape", [0, pp, n, 3 * h, d])], f"{i}/heads")
    q, k, v = b.add_multi(
        "Split", [heads, b.ints(f"{i}/split_sizes", [h, h, h])], [f"{i}/q", f"{i}/k", f"{i}/v"], f"{i}/split", axis=3
    )
    q = b.add("Transpose", [q], f"{i}/q_t", perm=[0, 1, 3, 2, 4])  # [B, P, h, N, d]
    kt = b.add("Transpose", [k], f"{i}/k_t", perm=[0, 1, 3, 4, 2])  # [B, P, h, d, N]
    v = b.add("Transpose", [v], f"{i}/v_t", perm=[0, 1, 3, 2, 4])  # [B, P, h, N, d]
    if scale != 1.0:
        q = b.add("Mul", [q, b.scalar(scale)], f"{i}/q_scaled")
    scores = b.add("MatMul", [q, kt], f"{i}/scores")
    attn = b.add("Softmax", [scores], f"{i}/attn", axis=-1)
    ctx = b.add("MatMul", [attn, v], f"{i}/context")
    merged = b.add("Transpose", [ctx], f"{i}/context_t", perm=[0, 1, 3, 2, 4])
    merged = b.add("Reshape", [merged, b.ints(f"{i}/merge_shape", [0, pp, n, c])], f"{i}/merged")
    return linear(b, merged, f"{i}.proj", i, "tokens", a.bias)


def emit_flatten(b: Builder, node: Node, xs: list[str]) -> str:
    return b.add("Flatten", xs, node.id, axis=1)
