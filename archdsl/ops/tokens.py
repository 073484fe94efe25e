"""Token ops for attention blocks (MobileViT): unfold to patches, self-attention, fold back."""

from __future__ import annotations

import math

from pydantic import Field

from archdsl.ops.base import OpArgs, OpError, OpSpec, TensorType, need_layout


class UnfoldArgs(OpArgs):
    p: int = Field(default=2, ge=1, description="patch size")


def _unfold_infer(a: UnfoldArgs, ins):
    (x,) = ins
    need_layout(x, "chw")
    if x.h % a.p or x.w % a.p:
        raise OpError(
            f"unfold with patch {a.p} needs height and width divisible by {a.p}, got {x.h}×{x.w}", arg="p", code="E403"
        )
    return TensorType(shape=(a.p * a.p, (x.h // a.p) * (x.w // a.p), x.c), layout="tokens"), a


class FoldArgs(OpArgs):
    p: int = Field(default=2, ge=1, description="patch size")
    h: int | None = Field(default=None, ge=1, description="output height; default: a square map")


def _fold_infer(a: FoldArgs, ins):
    (x,) = ins
    need_layout(x, "tokens")
    pp, n, c = x.shape
    if pp != a.p * a.p:
        raise OpError(f"fold with patch {a.p} needs {a.p * a.p} patch positions, got {pp}", arg="p", code="E403")
    if a.h is None:
        nh = math.isqrt(n)
        if nh * nh != n:
            raise OpError(f"{n} patches do not form a square; give the height with h = ...", arg="h", code="E403")
        h = nh * a.p
    else:
        h = a.h
        if h % a.p or n % (h // a.p):
            raise OpError(f"height {h} does not fit {n} patches of size {a.p}", arg="h", code="E403")
        nh = h // a.p
    a = a.model_copy(update={"h": h})
    return TensorType(shape=(c, h, (n // nh) * a.p)), a


class MhsaArgs(OpArgs):
    heads: int = Field(default=1, ge=1, description="attention heads")
    bias: bool = Field(default=True, description="bias in the qkv and output projections")


def _mhsa_infer(a: MhsaArgs, ins):
    (x,) = ins
    need_layout(x, "tokens")
    if x.c % a.heads:
        raise OpError(f"heads={a.heads} does not divide the {x.c} channels", arg="heads", code="E404")
    return x, a


def _mhsa_params(a: MhsaArgs, ins, out) -> int:
    c = ins[0].c
    return 4 * c * c + (4 * c if a.bias else 0)


def _mhsa_macs(a: MhsaArgs, ins, out) -> int:
    pp, n, c = ins[0].shape
    return pp * (n * _mhsa_params(a, ins, out) + 2 * n * n * c)


class NoArgs(OpArgs):
    pass


def _flatten_infer(a, ins):
    return TensorType(shape=(ins[0].numel,), layout="vec"), a


class DropoutArgs(OpArgs):
    p: float = Field(default=0.0, ge=0, lt=1, description="drop probability (training only)")


def _same(a, ins):
    return ins[0], a


OPS = [
    OpSpec(
        "unfold",
        UnfoldArgs,
        _unfold_infer,
        positional=("p",),
        category="tokens",
        doc="feature map [C,H,W] → tokens [p·p, H·W/p², C] (MobileViT's unfolding)",
    ),
    OpSpec(
        "fold",
        FoldArgs,
        _fold_infer,
        positional=("p",),
        category="tokens",
        doc="tokens [p·p, N, C] → feature map [C, H, W] (inverse of unfold)",
    ),
    OpSpec(
        "mhsa",
        MhsaArgs,
        _mhsa_infer,
        positional=("heads",),
        params=_mhsa_params,
        macs=_mhsa_macs,
        category="tokens",
        doc="multi-head self-attention over the N tokens of each patch position "
        "(fused qkv projection, output projection)",
    ),
    OpSpec("flatten", NoArgs, _flatten_infer, category="misc", doc="flatten to a vector"),
    OpSpec("dropout", DropoutArgs, _same, positional=("p",), category="misc", doc="dropout (identity at inference)"),
]
