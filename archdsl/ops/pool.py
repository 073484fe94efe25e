"""Pooling, anti-aliased (blur) pooling, upsampling and global pooling."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from archdsl.ops.base import OpArgs, OpError, OpSpec, TensorType, need_layout, spatial_out


class PoolArgs(OpArgs):
    k: int = Field(ge=1, description="window size")
    s: int | None = Field(default=None, ge=1, description="stride; defaults to the window size")
    p: int = Field(default=0, ge=0, description="zero padding")
    ceil: bool = Field(default=False, description="ceil mode for the output size")


class AvgPoolArgs(PoolArgs):
    count_include_pad: bool = Field(default=True, description="count padded zeros in the average")


def _pool_infer(a: PoolArgs, ins):
    (x,) = ins
    need_layout(x, "chw")
    s = a.s if a.s is not None else a.k
    if a.p * 2 > a.k:
        raise OpError(f"padding {a.p} is more than half the window {a.k}", arg="p", code="E405")
    a = a.model_copy(update={"s": s})
    h = spatial_out(x.h, a.k, s, a.p, ceil=a.ceil, axis="height")
    w = spatial_out(x.w, a.k, s, a.p, ceil=a.ceil, axis="width")
    return TensorType(shape=(x.c, h, w)), a


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


OPS = [
    OpSpec("maxpool", PoolArgs, _pool_infer, positional=("k", "s", "p"), category="pool", doc="max pooling"),
    OpSpec("avgpool", AvgPoolArgs, _pool_infer, positional=("k", "s", "p"), category="pool", doc="average pooling"),
    OpSpec(
        "blurpool",
        BlurPoolArgs,
        _blur_infer,
        positional=("filt", "s"),
        category="pool",
        doc="anti-aliased downsampling (Zhang 2019): fixed binomial low-pass filter, depthwise, strided, "
        "reflect padding",
    ),
    OpSpec(
        "upsample",
        UpsampleArgs,
        _up_infer,
        positional=("scale",),
        category="pool",
        doc="nearest or bilinear upsampling by an integer factor",
    ),
    OpSpec("gap", NoArgs, _gap_infer, category="pool", doc="global average pooling to [C, 1, 1]"),
]
