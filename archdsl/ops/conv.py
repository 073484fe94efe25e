"""Convolution and linear layers: the ops that carry weights."""

from __future__ import annotations

from pydantic import Field

from archdsl.ops.base import (
    Cost,
    OpArgs,
    OpError,
    OpSpec,
    TensorType,
    Traits,
    WeightSpec,
    need_layout,
    spatial_out,
)

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


def _conv_weights(a: ConvArgs, ins, out) -> list[WeightSpec]:
    fan_out = a.k * a.k * a.c // a.groups
    w = [WeightSpec("weight", (a.c, ins[0].c // a.groups, a.k, a.k), "conv", fan_out=fan_out)]
    if a.bias:
        w.append(WeightSpec("bias", (a.c,), "zeros"))
    return w


def _conv_macs(a: ConvArgs, ins, out) -> int:
    return (a.c * (ins[0].c // a.groups) * a.k * a.k + (a.c if a.bias else 0)) * out.h * out.w


def conv_kind(a: ConvArgs, c_in: int) -> str:
    """The cost kind of a convolution: dense k×k, point-wise, grouped or depthwise."""
    if a.groups == 1:
        return "conv_1x1" if a.k == 1 else "conv_dense"
    if a.groups == c_in:
        return "conv_dw"
    return "conv_grouped"


def _conv_cost(a: ConvArgs, ins, out, macs: int) -> Cost:
    return Cost(conv_kind(a, ins[0].c), 2.0 * macs)


def _conv_label(a: ConvArgs, ins) -> str:
    dw = bool(ins) and a.groups > 1 and a.groups == ins[0].c and a.c == a.groups
    parts = [f"{'dw conv' if dw else 'conv'} {a.k}×{a.k}", str(a.c)]
    if a.groups > 1 and not dw:
        parts.append(f"g{a.groups}")
    if a.d > 1:
        parts.append(f"dil {a.d}")
    if a.s > 1:
        parts.append(f"↓{a.s}")
    return " · ".join(parts)


class LinearArgs(OpArgs):
    c: int = Field(ge=1, description="output features")
    bias: bool = Field(default=True, description="learn a bias")


def _linear_infer(a: LinearArgs, ins):
    (x,) = ins
    need_layout(x, "vec", "tokens")
    return TensorType(shape=(*x.shape[:-1], a.c), layout=x.layout), a


def _linear_weights(a: LinearArgs, ins, out) -> list[WeightSpec]:
    w = [WeightSpec("weight", (a.c, ins[0].c), "linear")]
    if a.bias:
        w.append(WeightSpec("bias", (a.c,), "zeros"))
    return w


def _linear_macs(a: LinearArgs, ins, out) -> int:
    rows = out.numel // out.c
    return (ins[0].c * a.c + (a.c if a.bias else 0)) * rows


def _linear_cost(a: LinearArgs, ins, out, macs: int) -> Cost:
    return Cost("linear", 2.0 * macs)


OPS = [
    OpSpec(
        "conv",
        ConvArgs,
        _conv_infer,
        positional=("c", "k", "s"),
        macs=_conv_macs,
        traits=Traits(strided=True, linear=True),
        weights=_conv_weights,
        label=_conv_label,
        cost=_conv_cost,
        example="conv(16, k = 3, s = 2, groups = 4, bias = true)",
        category="conv",
        doc="2-D convolution (PyTorch Conv2d); depthwise when groups equals the input channels",
        semantics="`Conv2d(in, c, k, stride=s, padding=p, dilation=d, groups=groups, bias=bias)`, zero padding",
    ),
    OpSpec(
        "linear",
        LinearArgs,
        _linear_infer,
        positional=("c",),
        macs=_linear_macs,
        traits=Traits(linear=True),
        weights=_linear_weights,
        label=lambda a, ins: f"linear · {a.c}",
        cost=_linear_cost,
        example="linear(4)",
        example_input=(16,),
        category="conv",
        doc="fully connected layer over the last dimension",
        semantics="`Linear(in, c)` over the last dimension (`vec` or `tokens`)",
    ),
]
