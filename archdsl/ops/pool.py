"""Pooling, anti-aliased (blur) pooling, upsampling and global pooling."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from archdsl.ops.base import (
    BYTES_FP32,
    Cost,
    OpArgs,
    OpError,
    OpSpec,
    PairPadding,
    TensorType,
    Traits,
    Window,
    axes,
    name_label,
    need_layout,
    one_or_pair,
    spatial_out,
)


class PoolArgs(OpArgs):
    k: Window = Field(description="window size: an int or (height, width)")
    s: Window | None = Field(
        default=None, description="stride (an int or (height, width)); defaults to the window size"
    )
    p: PairPadding = Field(default=0, description="zero padding: an int or (height, width)")
    ceil: bool = Field(default=False, description="ceil mode for the output size")


class AvgPoolArgs(PoolArgs):
    count_include_pad: bool = Field(default=True, description="count padded zeros in the average")


def _pool_infer(a: PoolArgs, ins):
    (x,) = ins
    need_layout(x, "chw")
    (kh, kw) = axes(a.k)
    (sh, sw) = axes(a.s if a.s is not None else a.k)
    (ph, pw) = axes(a.p)
    if ph * 2 > kh or pw * 2 > kw:
        raise OpError(f"padding {_show(a.p)} is more than half the window {_show(a.k)}", arg="p", code="E405")
    a = a.model_copy(update={"k": one_or_pair(kh, kw), "s": one_or_pair(sh, sw), "p": one_or_pair(ph, pw)})
    h = spatial_out(x.h, kh, sh, ph, ceil=a.ceil, axis="height")
    w = spatial_out(x.w, kw, sw, pw, ceil=a.ceil, axis="width")
    return TensorType(shape=(x.c, h, w)), a


def _show(v) -> str:
    return str(v) if isinstance(v, int) else "(" + ", ".join(map(str, v)) + ")"


class BlurPoolArgs(OpArgs):
    filt: int = Field(default=3, ge=1, le=7, description="binomial filter size (1..7); 3 is [1,2,1]")
    s: int = Field(default=2, ge=1, description="stride")


def blur_padding(filt: int) -> tuple[int, int]:
    """Reflect padding of Zhang (2019): ((f-1)//2, ceil((f-1)/2)) on each spatial side."""
    return (filt - 1) // 2, -(-(filt - 1) // 2)


def _blur_infer(a: BlurPoolArgs, ins):
    (x,) = ins
    need_layout(x, "chw")
    lo, hi = blur_padding(a.filt)
    if max(lo, hi) >= min(x.h, x.w):
        raise OpError(
            f"blur pool with filter {a.filt} needs a feature map larger than {max(lo, hi)} pixels, got {x.h}×{x.w}",
            arg="filt",
            code="E403",
        )
    h = (x.h + lo + hi - a.filt) // a.s + 1
    w = (x.w + lo + hi - a.filt) // a.s + 1
    return TensorType(shape=(x.c, h, w)), a


class UpsampleArgs(OpArgs):
    scale: int = Field(default=2, ge=1, le=64, description="integer scale factor")
    mode: Literal["nearest", "bilinear"] = Field(default="nearest", description="interpolation")


def _up_infer(a: UpsampleArgs, ins):
    (x,) = ins
    need_layout(x, "chw")
    return TensorType(shape=(x.c, x.h * a.scale, x.w * a.scale)), a


class NoArgs(OpArgs):
    pass


def _gap_infer(a, ins):
    (x,) = ins
    need_layout(x, "chw")
    return TensorType(shape=(x.c, 1, 1)), a


def _pool_label(name: str):
    def label(a: PoolArgs, ins) -> str:
        (kh, kw), (sh, sw) = axes(a.k), axes(a.s if a.s is not None else a.k)
        stride = (f" · ↓{sh}" if sh > 1 else "") if sh == sw else f" · ↓{sh}×{sw}"
        return f"{name} {kh}×{kw}" + stride

    return label


def _pool_cost(a: PoolArgs, ins, out, macs: int) -> Cost:
    kh, kw = axes(a.k)
    return Cost("pool", float(out.numel * kh * kw))


def _blur_label(a: BlurPoolArgs, ins) -> str:
    return f"AADS · blur {a.filt}" + (f" · ↓{a.s}" if a.s > 1 else "")


def _blur_cost(a: BlurPoolArgs, ins, out, macs: int) -> Cost:
    # the reflect-padded copy is written and read again: the input moves twice
    return Cost("blurpool", float(2 * out.numel * a.filt * a.filt), float((2 * ins[0].numel + out.numel) * BYTES_FP32))


def _up_label(a: UpsampleArgs, ins) -> str:
    return f"upsample ×{a.scale}" + ("" if a.mode == "nearest" else f" {a.mode}")


POOL_TRAITS = Traits(strided=True, per_channel=True)

OPS = [
    OpSpec(
        "maxpool",
        PoolArgs,
        _pool_infer,
        positional=("k", "s", "p"),
        traits=POOL_TRAITS,
        label=_pool_label("maxpool"),
        cost=_pool_cost,
        example="maxpool(3, 2, 1)",
        category="pool",
        doc="max pooling",
        semantics="`MaxPool2d(k, s, p, ceil_mode=ceil)`",
    ),
    OpSpec(
        "avgpool",
        AvgPoolArgs,
        _pool_infer,
        positional=("k", "s", "p"),
        traits=Traits(strided=True, per_channel=True, linear=True),
        label=_pool_label("avgpool"),
        cost=_pool_cost,
        example="avgpool(2)",
        category="pool",
        doc="average pooling",
        semantics="`AvgPool2d(k, s, p, ceil_mode=ceil, count_include_pad=...)`",
    ),
    OpSpec(
        "blurpool",
        BlurPoolArgs,
        _blur_infer,
        positional=("filt", "s"),
        traits=Traits(strided=True, per_channel=True, linear=True, antialias=True),
        label=_blur_label,
        cost=_blur_cost,
        example="blurpool(3, 2)",
        category="pool",
        doc="anti-aliased downsampling (Zhang 2019): fixed binomial low-pass filter, depthwise, strided, "
        "reflect padding",
        semantics="anti-aliased downsampling (Zhang 2019): filter = outer product of the binomial row of length "
        "`filt` (`[1]`, `[1,1]`, `[1,2,1]`, `[1,3,3,1]`, ...) normalised to sum 1; reflect padding "
        "`((filt-1)//2, ceil((filt-1)/2))` on each of left/right and top/bottom; depthwise conv with stride `s`",
    ),
    OpSpec(
        "upsample",
        UpsampleArgs,
        _up_infer,
        positional=("scale",),
        traits=Traits(per_channel=True, linear=True),
        label=_up_label,
        cost=lambda a, ins, out, macs: Cost("copy", 0.0),
        example="upsample(2)",
        category="pool",
        doc="nearest or bilinear upsampling by an integer factor",
        semantics="`F.interpolate(scale_factor=scale, mode=mode)`; bilinear with `align_corners=False`",
    ),
    OpSpec(
        "gap",
        NoArgs,
        _gap_infer,
        traits=Traits(per_channel=True, global_pool=True, linear=True),
        label=name_label("global avg pool"),
        cost=lambda a, ins, out, macs: Cost("pool", float(ins[0].numel)),
        category="pool",
        doc="global average pooling to [C, 1, 1]",
        semantics="global average pool to `[C, 1, 1]`",
    ),
]
