"""Convolution and linear layers: the ops that carry weights."""

from __future__ import annotations

from pydantic import Field

from archdsl.ops.base import OpArgs, OpError, OpSpec, TensorType, need_layout, spatial_out

Pos = Field(ge=1)


class ConvArgs(OpArgs):
    c: int = Field(ge=1, description="output channels")
    k: int = Field(default=1, ge=1, description="kernel size")
    s: int = Field(default=1, ge=1, description="stride")
    p: int | None = Field(default=None, ge=0, description="zero padding; default keeps 'same' size at stride 1")
    d: int = Field(default=1, ge=1, description="dilation")
    groups: int = Field(default=1, ge=1, description="groups; groups = input channels is depthwise")
    bias: bool = Field(default=False, description="learn a bias")


def conv_padding(k: int, s: int, d: int) -> int:
    """timm's ``get_padding``: symmetric padding that keeps the size at stride 1."""
    return ((s - 1) + d * (k - 1)) // 2


def _conv_infer(a: ConvArgs, ins: list[TensorType]):
    (x,) = ins
    need_layout(x, "chw")
    if x.c % a.groups:
        raise OpError(
            f"groups={a.groups} does not divide the {x.c} input channels",
            arg="groups",
            code="E404",
            help=f"choose groups among the divisors of {x.c}",
        )
    if a.c % a.groups:
        raise OpError(f"groups={a.groups} does not divide the {a.c} output channels", arg="groups", code="E404")
    p = a.p if a.p is not None else conv_padding(a.k, a.s, a.d)
    a = a.model_copy(update={"p": p})
    h = spatial_out(x.h, a.k, a.s, p, a.d, axis="height")
    w = spatial_out(x.w, a.k, a.s, p, a.d, axis="width")
    return TensorType(shape=(a.c, h, w)), a


def _conv_params(a: ConvArgs, ins, out) -> int:
    return a.c * (ins[0].c // a.groups) * a.k * a.k + (a.c if a.bias else 0)


def _conv_macs(a: ConvArgs, ins, out) -> int:
    return _conv_params(a, ins, out) * out.h * out.w


class LinearArgs(OpArgs):
    c: int = Field(ge=1, description="output features")
    bias: bool = Field(default=True, description="learn a bias")


def _linear_infer(a: LinearArgs, ins):
    (x,) = ins
    need_layout(x, "vec", "tokens")
    return TensorType(shape=(*x.shape[:-1], a.c), layout=x.layout), a


def _linear_params(a: LinearArgs, ins, out) -> int:
    return ins[0].c * a.c + (a.c if a.bias else 0)


def _linear_macs(a: LinearArgs, ins, out) -> int:
    rows = out.numel // out.c
    return _linear_params(a, ins, out) * rows


OPS = [
    OpSpec(
        "conv",
        ConvArgs,
        _conv_infer,
        positional=("c", "k", "s"),
        params=_conv_params,
        macs=_conv_macs,
        category="conv",
        doc="2-D convolution (PyTorch Conv2d); depthwise when groups equals the input channels",
    ),
    OpSpec(
        "linear",
        LinearArgs,
        _linear_infer,
        positional=("c",),
        params=_linear_params,
        macs=_linear_macs,
        category="conv",
        doc="fully connected layer over the last dimension",
    ),
]
