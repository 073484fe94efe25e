"""conv and linear: the ops with weights of their own."""

from __future__ import annotations

from archdsl.ir import Node
from archdsl.ops.base import axes, same_pads, sides

from .builder import Builder


def emit_conv(b: Builder, node: Node, xs: list[str]) -> str:
    a = node.args
    inputs = [xs[0], b.param(f"{node.id}.weight")]
    if a.bias:
        inputs.append(b.param(f"{node.id}.bias"))
    pads = None
    if a.p == "same":
        # TensorFlow's, for this input size (the ONNX input's size is the IR's: only the batch is
        # dynamic); auto_pad = SAME_UPPER would say the same, but onnxruntime refuses it with dilation
        x = b.types[node.inputs[0]]
        (kh, kw), (sh, sw), (dh, dw) = axes(a.k), axes(a.s), axes(a.d)
        (t, bottom), (left, r) = same_pads(x.h, kh, sh, dh), same_pads(x.w, kw, sw, dw)
        pads = [t, left, bottom, r] if (t, left, bottom, r) != (0, 0, 0, 0) else None
    elif a.p:
        t, bottom, left, r = sides(a.p)
        pads = [t, left, bottom, r]
    return b.add(
        "Conv",
        inputs,
        node.id,
        kernel_shape=list(axes(a.k)),
        strides=list(axes(a.s)) if a.s != 1 else None,
        pads=pads,
        dilations=list(axes(a.d)) if a.d != 1 else None,
        group=a.groups if a.groups != 1 else None,
    )


def linear(b: Builder, x: str, prefix: str, out: str, layout: str, bias: bool) -> str:
    """``x @ W.T + bias`` with the weights ``prefix.weight`` / ``prefix.bias``.

    A vector (``[B, C]``) uses one Gemm with the weight in PyTorch's ``[out, in]`` layout. Tokens
    (``[B, P, N, C]``) use MatMul, whose right operand is ``[in, out]``: the initializer
    ``prefix.weight`` then holds the transposed weight.
    """
    w = b.weights[f"{prefix}.weight"]
    if layout == "vec":
        inputs = [x, b.param(f"{prefix}.weight")]
        if bias:
            inputs.append(b.param(f"{prefix}.bias"))
        return b.add("Gemm", inputs, out, transB=1)
    if not bias:
        return b.add("MatMul", [x, b.param(f"{prefix}.weight", w.T)], out)
    mm = b.add("MatMul", [x, b.param(f"{prefix}.weight", w.T)], f"{prefix}/matmul")
    return b.add("Add", [mm, b.param(f"{prefix}.bias")], out)


def emit_linear(b: Builder, node: Node, xs: list[str]) -> str:
    return linear(b, xs[0], node.id, node.id, node.out.layout, node.args.bias)
