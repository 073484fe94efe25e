"""Token ops for attention blocks (MobileViT): unfold to patches, self-attention, fold back."""

from __future__ import annotations

import math

from pydantic import Field

from archdsl.ops.base import (
    BYTES_FP32,
    Cost,
    OpArgs,
    OpError,
    OpSpec,
    TensorType,
    Traits,
    WeightSpec,
    name_label,
    need_layout,
)


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
    scale: float | None = Field(default=None, gt=0, description="attention-score scale; default 1/sqrt(C/heads)")


def _mhsa_infer(a: MhsaArgs, ins):
    (x,) = ins
    need_layout(x, "tokens")
    if x.c % a.heads:
        raise OpError(f"heads={a.heads} does not divide the {x.c} channels", arg="heads", code="E404")
    return x, a


def _mhsa_weights(a: MhsaArgs, ins, out) -> list[WeightSpec]:
    c = ins[0].c
    w = [WeightSpec("qkv.weight", (3 * c, c), "linear")]
    if a.bias:
        w.append(WeightSpec("qkv.bias", (3 * c,), "zeros"))
    w.append(WeightSpec("proj.weight", (c, c), "linear"))
    if a.bias:
        w.append(WeightSpec("proj.bias", (c,), "zeros"))
    return w


def _mhsa_macs(a: MhsaArgs, ins, out) -> int:
    pp, n, c = ins[0].shape
    return pp * (n * (4 * c * c + (4 * c if a.bias else 0)) + 2 * n * n * c)


SOFTMAX_FLOPS = 5  # per element of the attention matrix


def _mhsa_cost(a: MhsaArgs, ins, out, macs: int) -> Cost:
    p, tokens, _ = out.shape
    attn = p * a.heads * tokens * tokens
    in_bytes = ins[0].numel * BYTES_FP32
    out_bytes = out.numel * BYTES_FP32
    # qkv (3x), attention matrix written and read, context, output
    act = in_bytes + 3 * out_bytes + 2 * attn * BYTES_FP32 + 2 * out_bytes
    return Cost("attention", 2.0 * macs + SOFTMAX_FLOPS * attn, float(act))


class NoArgs(OpArgs):
    pass


def _flatten_infer(a, ins):
    return TensorType(shape=(ins[0].numel,), layout="vec"), a


class DropoutArgs(OpArgs):
    p: float = Field(default=0.0, ge=0, lt=1, description="drop probability (training only)")


class DropPathArgs(OpArgs):
    p: float = Field(
        default=0.0, ge=0, lt=1, description="probability of dropping a sample's whole path (training only)"
    )


def _same(a, ins):
    return ins[0], a


def _layout(a, ins, out, macs: int) -> Cost:
    return Cost("layout", 0.0)


OPS = [
    OpSpec(
        "unfold",
        UnfoldArgs,
        _unfold_infer,
        positional=("p",),
        traits=Traits(per_channel=True, view=True, linear=True),
        label=lambda a, ins: f"unfold {a.p}×{a.p}",
        cost=_layout,
        example="unfold(2)",
        category="tokens",
        doc="feature map [C,H,W] → tokens [p·p, H·W/p², C] (MobileViT's unfolding)",
        semantics="`[B, C, H, W]` → `[B, p*p, N, C]` exactly as timm's `MobileVitBlock` unfolds: "
        "`x.reshape(B*C*nh, p, nw, p).transpose(1, 2).reshape(B, C, N, p*p).transpose(1, 3)` with `nh = H/p`, "
        "`nw = W/p`, `N = nh*nw`",
    ),
    OpSpec(
        "fold",
        FoldArgs,
        _fold_infer,
        positional=("p",),
        traits=Traits(per_channel=True, view=True, linear=True),
        label=lambda a, ins: f"fold {a.p}×{a.p}",
        cost=_layout,
        example="unfold(2) -> fold(2)",
        category="tokens",
        doc="tokens [p·p, N, C] → feature map [C, H, W] (inverse of unfold)",
        semantics="the inverse of `unfold` (timm's fold), output height `h`",
    ),
    OpSpec(
        "mhsa",
        MhsaArgs,
        _mhsa_infer,
        positional=("heads",),
        macs=_mhsa_macs,
        weights=_mhsa_weights,
        label=lambda a, ins: f"MHSA · {a.heads} heads",
        cost=_mhsa_cost,
        example="unfold(2) -> mhsa(2)",
        category="tokens",
        doc="multi-head self-attention over the N tokens of each patch position "
        "(fused qkv projection, output projection)",
        semantics="timm's `Attention` applied to each of the P token sets: `qkv = Linear(C, 3C, bias)`, split into "
        "heads, `softmax(q kᵀ · scale) v` with `scale` = `1/sqrt(C/heads)` unless given, `proj = Linear(C, C, bias)`",
    ),
    OpSpec(
        "flatten",
        NoArgs,
        _flatten_infer,
        traits=Traits(reshape=True, view=True, linear=True),
        label=name_label("flatten"),
        cost=lambda a, ins, out, macs: Cost("free", 0.0, 0.0),
        category="misc",
        doc="flatten to a vector",
        semantics="flatten all but the batch dimension",
    ),
    OpSpec(
        "dropout",
        DropoutArgs,
        _same,
        positional=("p",),
        traits=Traits(alias=True, view=True, per_channel=True, per_pixel=True, linear=True),
        label=lambda a, ins: f"dropout {a.p:g}",
        cost=lambda a, ins, out, macs: Cost("free", 0.0, 0.0),
        example="dropout(0.1)",
        category="misc",
        doc="dropout (identity at inference)",
        semantics="dropout (identity in eval)",
    ),
    OpSpec(
        "drop_path",
        DropPathArgs,
        _same,
        positional=("p",),
        traits=Traits(alias=True, view=True, per_channel=True, per_pixel=True, linear=True),
        label=lambda a, ins: f"drop path {a.p:g}",
        cost=lambda a, ins, out, macs: Cost("free", 0.0, 0.0),
        example="drop_path(0.1)",
        category="misc",
        doc="stochastic depth (timm's DropPath): identity at inference",
        semantics="identity in eval; in training each sample's tensor is zeroed with probability `p` and the "
        "others are scaled by `1/(1-p)` (timm's `DropPath`, `scale_by_keep=True`)",
    ),
]
