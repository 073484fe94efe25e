"""Convolution and linear layers: the ops that carry weights."""

from __future__ import annotations

from pydantic import Field

from archdsl.ops.base import (
    Cost,
    OpArgs,
    OpError,
    OpSpec,
    Padding,
    TensorType,
    Traits,
    WeightSpec,
    Window,
    axes,
    compact_sides,
    need_layout,
    one_or_pair,
    same_pads,
    sides,
    spatial_out,
)

Pos = Field(ge=1)


class ConvArgs(OpArgs):
    c: int = Field(ge=1, description="output channels")
    k: Window = Field(default=1, description="kernel size: an int or (height, width)")
    s: Window = Field(default=1, description="stride: an int or (height, width)")
    p: Padding = Field(
        default=None,
        description='zero padding: an int, (height, width), (top, bottom, left, right) or "same"; '
        "default keeps the size at stride 1",
    )
    d: Window = Field(default=1, description="dilation: an int or (height, width)")
    groups: int = Field(default=1, ge=1, description="groups; groups = input channels is depthwise")
    bias: bool = Field(default=False, description="learn a bias")


def conv_padding(k: int, s: int, d: int) -> int:
    """timm's ``get_padding``: symmetric padding that keeps the size at stride 1."""
    return ((s - 1) + d * (k - 1)) // 2


def window_pads(a, x: TensorType, default) -> tuple[tuple[int, int, int, int], object]:
    """The padding of a sliding-window op on input ``x`` as (top, bottom, left, right), and the
    argument in its normal form (``"same"`` stays ``"same"``: it is computed per input size)."""
    (kh, kw), (sh, sw) = axes(a.k), axes(a.s)
    dh, dw = axes(getattr(a, "d", 1))
    if a.p == "same":
        return (*same_pads(x.h, kh, sh, dh), *same_pads(x.w, kw, sw, dw)), "same"
    p = a.p if a.p is not None else default(kh, kw, sh, sw, dh, dw)
    t, b, left, r = sides(p)
    return (t, b, left, r), compact_sides(t, b, left, r)


def _default_pad(kh, kw, sh, sw, dh, dw):
    return one_or_pair(conv_padding(kh, sh, dh), conv_padding(kw, sw, dw))


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
    (t, b, left, r), p = window_pads(a, x, _default_pad)
    (kh, kw), (sh, sw), (dh, dw) = axes(a.k), axes(a.s), axes(a.d)
    a = a.model_copy(update={"p": p, "k": one_or_pair(kh, kw), "s": one_or_pair(sh, sw), "d": one_or_pair(dh, dw)})
    h = spatial_out(x.h, kh, sh, t, dh, axis="height", after=b)
    w = spatial_out(x.w, kw, sw, left, dw, axis="width", after=r)
    return TensorType(shape=(a.c, h, w)), a


def _conv_weights(a: ConvArgs, ins, out) -> list[WeightSpec]:
    kh, kw = axes(a.k)
    fan_out = kh * kw * a.c // a.groups
    w = [WeightSpec("weight", (a.c, ins[0].c // a.groups, kh, kw), "conv", fan_out=fan_out)]
    if a.bias:
        w.append(WeightSpec("bias", (a.c,), "zeros"))
    return w


def _conv_macs(a: ConvArgs, ins, out) -> int:
    kh, kw = axes(a.k)
    return (a.c * (ins[0].c // a.groups) * kh * kw + (a.c if a.bias else 0)) * out.h * out.w


def conv_kind(a: ConvArgs, c_in: int) -> str:
    """The cost kind of a convolution: dense k×k, point-wise, grouped or depthwise."""
    if a.groups == 1:
        return "conv_1x1" if a.k == 1 else "conv_dense"
    if a.groups == c_in:
        return "conv_dw"
    return "conv_grouped"


def _conv_cost(a: ConvArgs, ins, out, macs: int) -> Cost:
    return Cost(conv_kind(a, ins[0].c), 2.0 * macs)


def window_text(v) -> str:
    """``3×3`` for 3, ``1×5`` for (1, 5)."""
    h, w = axes(v)
    return f"{h}×{w}"


def pad_text(p) -> str | None:
    """A padding worth showing on a label: "same" or an asymmetric one (``pad 0,1,0,1``)."""
    if p == "same":
        return "same"
    if isinstance(p, tuple) and len(p) == 4:
        return "pad " + ",".join(map(str, p))
    return None


def stride_text(s) -> str | None:
    h, w = axes(s)
    if h == w:
        return f"↓{h}" if h > 1 else None
    return f"↓{h}×{w}"


def _conv_label(a: ConvArgs, ins) -> str:
    dw = bool(ins) and a.groups > 1 and a.groups == ins[0].c and a.c == a.groups
    parts = [f"{'dw conv' if dw else 'conv'} {window_text(a.k)}", str(a.c)]
    if a.groups > 1 and not dw:
        parts.append(f"g{a.groups}")
    if a.d != 1:
        parts.append(f"dil {a.d}" if isinstance(a.d, int) else f"dil {window_text(a.d)}")
    for extra in (stride_text(a.s), pad_text(a.p)):
        if extra:
            parts.append(extra)
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
        example="conv(16, k = 3, s = 2, groups = 4, bias = true) -> conv(16, k = (1, 5), s = (2, 1), p = (0, 1, 2, 2)) "
        '-> conv(16, k = 3, s = 2, p = "same")',
        category="conv",
        doc="2-D convolution (PyTorch Conv2d); depthwise when groups equals the input channels",
        semantics="`Conv2d(in, c, k, stride=s, padding=p, dilation=d, groups=groups, bias=bias)`, zero padding; "
        "`k`, `s`, `d` an int or (height, width); `p` an int, (height, width), (top, bottom, left, right) or "
        "`\"same\"` (TensorFlow's, timm's `Conv2dSame`: output `ceil(size / s)`, the padding computed from each "
        "input's size, the odd row or column at the bottom or right)",
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
