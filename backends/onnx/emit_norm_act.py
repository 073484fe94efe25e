"""Normalisation, scale, activations, softmax and the inference-time identities."""

from __future__ import annotations

import math

import numpy as np

from archdsl.ir import Node

from .builder import Builder


def emit_bn(b: Builder, node: Node, xs: list[str]) -> str:
    """An unfolded batch norm (``fold=false``, or no convolution before it to fold into)."""
    i, c = node.id, node.out.c
    if node.args.affine:
        affine = [b.param(f"{i}.weight"), b.param(f"{i}.bias")]
    else:  # no weight and bias: constant scale 1 and bias 0
        affine = [
            b.const(f"const/ones[{c}]", np.ones(c, np.float32)),
            b.const(f"const/zeros[{c}]", np.zeros(c, np.float32)),
        ]
    stats = [b.param(f"{i}.{t}") for t in ("running_mean", "running_var")]
    return b.add("BatchNormalization", [xs[0], *affine, *stats], i, epsilon=node.args.eps)


def emit_groupnorm(b: Builder, node: Node, xs: list[str]) -> str:
    """GroupNorm: one GroupNormalization from opset 21 (per-channel scale and bias; opset 18's
    per-group form is not PyTorch's); at lower opsets ``Reshape [B, G, -1]`` →
    InstanceNormalization (scale 1, bias 0 per group) → ``Reshape [B, C, H, W]`` → per-channel
    ``Mul`` weight, ``Add`` bias."""
    x, i, a = xs[0], node.id, node.args
    c, h, w = node.out.shape
    if b.opset >= 21:
        weight, bias = b.param(f"{i}.weight"), b.param(f"{i}.bias")
        return b.add("GroupNormalization", [x, weight, bias], i, num_groups=a.groups, epsilon=a.eps)
    g = a.groups
    grouped = b.add("Reshape", [x, b.ints(f"const/shape[0,{g},-1]", [0, g, -1])], f"{i}/grouped")
    ones, zeros = (
        b.const(f"const/ones[{g}]", np.ones(g, np.float32)),
        b.const(f"const/zeros[{g}]", np.zeros(g, np.float32)),
    )
    normed = b.add("InstanceNormalization", [grouped, ones, zeros], f"{i}/normed", epsilon=a.eps)
    y = b.add("Reshape", [normed, b.ints(f"const/shape[0,{c},{h},{w}]", [0, c, h, w])], f"{i}/ungrouped")
    y = b.add("Mul", [y, b.param(f"{i}.weight", b.weights[f"{i}.weight"].reshape(-1, 1, 1))], f"{i}/scaled")
    return b.add("Add", [y, b.param(f"{i}.bias", b.weights[f"{i}.bias"].reshape(-1, 1, 1))], i)


def emit_layernorm(b: Builder, node: Node, xs: list[str]) -> str:
    """LayerNorm over channels: the last axis of tokens and vectors, axis 1 of a feature map.

    Over the last axis with opset >= 17 this is one LayerNormalization; otherwise (and over the
    channels of a ``chw`` map, timm's ``LayerNorm2d``) it is the textbook decomposition
    ``(x - mean) / sqrt(var + eps) * weight + bias`` with a biased variance.
    """
    x, i, eps = xs[0], node.id, node.args.eps
    t = node.out
    w, bias = b.weights[f"{i}.weight"], b.weights[f"{i}.bias"]
    if t.layout != "chw" and b.has("LayerNormalization"):
        return b.add("LayerNormalization", [x, b.param(f"{i}.weight"), b.param(f"{i}.bias")], i, axis=-1, epsilon=eps)
    axis = 1 if t.layout == "chw" else -1
    bshape = (-1, 1, 1) if t.layout == "chw" else (-1,)
    mean = b.reduce_mean(x, [axis], f"{i}/mean")
    d = b.add("Sub", [x, mean], f"{i}/centred")
    var = b.reduce_mean(b.add("Mul", [d, d], f"{i}/square"), [axis], f"{i}/var")
    std = b.add("Sqrt", [b.add("Add", [var, b.scalar(eps)], f"{i}/var_eps")], f"{i}/std")
    y = b.add("Div", [d, std], f"{i}/normed")
    y = b.add("Mul", [y, b.param(f"{i}.weight", w.reshape(bshape))], f"{i}/scaled")
    return b.add("Add", [y, b.param(f"{i}.bias", bias.reshape(bshape))], i)


def emit_scale(b: Builder, node: Node, xs: list[str]) -> str:
    w = b.weights[f"{node.id}.weight"]
    if node.out.layout == "chw":
        w = w.reshape(-1, 1, 1)
    return b.add("Mul", [xs[0], b.param(f"{node.id}.weight", w)], node.id)


def emit_relu(b: Builder, node: Node, xs: list[str]) -> str:
    return b.add("Relu", xs, node.id)


def emit_relu6(b: Builder, node: Node, xs: list[str]) -> str:
    return b.add("Clip", [xs[0], b.scalar(0.0), b.scalar(6.0)], node.id)


def emit_hardsigmoid(b: Builder, node: Node, xs: list[str]) -> str:
    # PyTorch: relu6(x + 3) / 6 = clip(x / 6 + 1/2, 0, 1)
    return b.add("HardSigmoid", xs, node.id, alpha=1.0 / 6.0, beta=0.5)


def emit_hardswish(b: Builder, node: Node, xs: list[str]) -> str:
    if b.has("HardSwish"):
        return b.add("HardSwish", xs, node.id)
    gate = b.add("HardSigmoid", xs, f"{node.id}/gate", alpha=1.0 / 6.0, beta=0.5)
    return b.add("Mul", [xs[0], gate], node.id)


def emit_sigmoid(b: Builder, node: Node, xs: list[str]) -> str:
    return b.add("Sigmoid", xs, node.id)


def emit_tanh(b: Builder, node: Node, xs: list[str]) -> str:
    return b.add("Tanh", xs, node.id)


def emit_silu(b: Builder, node: Node, xs: list[str]) -> str:
    # x * sigmoid(x); onnxruntime fuses the pair. (ONNX's Swish op needs opset 24.)
    gate = b.add("Sigmoid", xs, f"{node.id}/sigmoid")
    return b.add("Mul", [xs[0], gate], node.id)


def emit_gelu(b: Builder, node: Node, xs: list[str]) -> str:
    """Exact (erf) GELU: the Gelu op from opset 20, else ``x * 0.5 * (1 + erf(x / sqrt 2))``."""
    if b.has("Gelu"):
        return b.add("Gelu", xs, node.id, approximate="none")
    i = node.id
    e = b.add("Erf", [b.add("Div", [xs[0], b.scalar(math.sqrt(2.0))], f"{i}/scaled")], f"{i}/erf")
    half = b.add("Mul", [xs[0], b.scalar(0.5)], f"{i}/half")
    return b.add("Mul", [half, b.add("Add", [e, b.scalar(1.0)], f"{i}/erf_plus_1")], i)


def emit_softmax(b: Builder, node: Node, xs: list[str]) -> str:
    return b.add("Softmax", xs, node.id, axis=1 if node.out.layout == "chw" else -1)


def emit_identity(b: Builder, node: Node, xs: list[str]) -> str:
    return xs[0]


def emit_dropout(b: Builder, node: Node, xs: list[str]) -> str:
    return xs[0]


def emit_drop_path(b: Builder, node: Node, xs: list[str]) -> str:
    return xs[0]
