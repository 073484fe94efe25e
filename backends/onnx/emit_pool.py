"""Pooling, anti-aliased (blur) pooling, upsampling and global pooling."""

from __future__ import annotations

import numpy as np

from archdsl.ir import Node
from archdsl.ops import TensorType
from archdsl.ops.base import axes, spatial_out
from archdsl.ops.pool import blur_padding

from .builder import Builder

# Before opset 22 the ONNX pooling ops keep a last ceil-mode window that starts in the right padding;
# PyTorch (and the IR) drop it. From opset 22 the ONNX shape formula is PyTorch's.
CEIL_FIXED_OPSET = 22


def _onnx_ceil_out(size: int, k: int, s: int, p: int) -> int:
    """Output size of ONNX pooling with ceil_mode=1 before opset 22 (no last-window rule)."""
    return -(-(size + 2 * p - k) // s) + 1


def _axes3(a) -> list[tuple[int, int, int]]:
    """(k, s, p) of the height and the width axis."""
    return list(zip(axes(a.k), axes(a.s), axes(a.p), strict=True))


def _ceil_mode(node: Node, ins: list[TensorType]) -> int | None:
    """1 where ceil mode changes the output size, else None (the attribute is left out)."""
    a, x = node.args, ins[0]
    if not a.ceil:
        return None
    (kh, sh, ph), (kw, sw, pw) = _axes3(a)
    floor = (spatial_out(x.h, kh, sh, ph), spatial_out(x.w, kw, sw, pw))
    return None if floor == (node.out.h, node.out.w) else 1


def _check_pool(node: Node, ins: list[TensorType], opset: int) -> str | None:
    a, x = node.args, ins[0]
    if not a.ceil or opset >= CEIL_FIXED_OPSET:
        return None
    (kh, sh, ph), (kw, sw, pw) = _axes3(a)
    onnx_out = (_onnx_ceil_out(x.h, kh, sh, ph), _onnx_ceil_out(x.w, kw, sw, pw))
    if onnx_out == (node.out.h, node.out.w):
        return None
    return (
        f"with ceil = true on a {x.h}×{x.w} input the last window starts in the padding; PyTorch drops it "
        f"(output {node.out.h}×{node.out.w}) but ONNX pooling before opset {CEIL_FIXED_OPSET} keeps it "
        f"(output {onnx_out[0]}×{onnx_out[1]})"
    )


check_maxpool = _check_pool
check_avgpool = _check_pool


def _pool_attrs(b: Builder, node: Node) -> dict:
    a = node.args
    ins = [b.types[i] for i in node.inputs]
    (kh, sh, ph), (kw, sw, pw) = _axes3(a)
    return {
        "kernel_shape": [kh, kw],
        "strides": [sh, sw],
        "pads": [ph, pw, ph, pw] if a.p else None,
        "ceil_mode": _ceil_mode(node, ins),
    }


def emit_maxpool(b: Builder, node: Node, xs: list[str]) -> str:
    return b.add("MaxPool", xs, node.id, **_pool_attrs(b, node))


def emit_avgpool(b: Builder, node: Node, xs: list[str]) -> str:
    attrs = _pool_attrs(b, node)
    cip = 1 if node.args.count_include_pad and node.args.p else None
    return b.add("AveragePool", xs, node.id, count_include_pad=cip, **attrs)


def blur_filter(filt: int) -> np.ndarray:
    """The normalised binomial filter of Zhang (2019): outer product of a Pascal row."""
    row = np.array([1.0])
    for _ in range(filt - 1):
        row = np.convolve(row, [1.0, 1.0])
    f = np.outer(row, row)
    return f / f.sum()


def emit_blurpool(b: Builder, node: Node, xs: list[str]) -> str:
    """Reflect Pad, then a depthwise Conv with the fixed filter (shared by blur pools of one size)."""
    a = node.args
    c = node.out.c
    lo, hi = blur_padding(a.filt)
    x = xs[0]
    if lo or hi:
        pads = b.ints(f"const/pads.blur{a.filt}", [0, 0, lo, lo, 0, 0, hi, hi])
        x = b.add("Pad", [x, pads], f"{node.id}/pad", mode="reflect")
    filt = np.broadcast_to(blur_filter(a.filt), (c, 1, a.filt, a.filt)).astype(np.float32)
    w = b.const(f"const/blur{a.filt}.c{c}", filt)
    return b.add("Conv", [x, w], node.id, kernel_shape=[a.filt, a.filt], strides=[a.s, a.s], group=c)


def emit_upsample(b: Builder, node: Node, xs: list[str]) -> str:
    """Resize by an integer factor: PyTorch's 'nearest' (floor of the asymmetric source coordinate)
    or 'bilinear' with align_corners=False (half-pixel centres)."""
    s = float(node.args.scale)
    scales = b.const(f"const/scales.x{node.args.scale}", np.array([1.0, 1.0, s, s], dtype=np.float32))
    if node.args.mode == "nearest":
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    else:
        attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
    return b.add("Resize", [xs[0], "", scales], node.id, **attrs)


def emit_gap(b: Builder, node: Node, xs: list[str]) -> str:
    return b.add("GlobalAveragePool", xs, node.id)
