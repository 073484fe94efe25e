"""Normalisation layers and activations: shape-preserving ops."""

from __future__ import annotations

from pydantic import Field

from archdsl.ops.base import OpArgs, OpSpec, need_layout


class NormArgs(OpArgs):
    eps: float = Field(default=1e-5, gt=0, lt=1, description="added to the variance")
    momentum: float = Field(default=0.1, ge=0, le=1, description="running-statistics momentum")


class LayerNormArgs(OpArgs):
    eps: float = Field(default=1e-5, gt=0, lt=1, description="added to the variance")


class NoArgs(OpArgs):
    pass


class ScaleArgs(OpArgs):
    init: float = Field(default=1.0, description="initial value of the per-channel scale")


def _bn_infer(a, ins):
    need_layout(ins[0], "chw")
    return ins[0], a


def _same(a, ins):
    return ins[0], a


def _affine_params(a, ins, out) -> int:
    return 2 * ins[0].c


def _softmax_infer(a, ins):
    return ins[0], a


ACTIVATIONS = {
    "relu": "max(x, 0)",
    "relu6": "min(max(x, 0), 6)",
    "hardswish": "x · relu6(x + 3) / 6",
    "hardsigmoid": "relu6(x + 3) / 6",
    "sigmoid": "1 / (1 + exp(-x))",
    "silu": "x · sigmoid(x) (swish)",
    "gelu": "Gaussian error linear unit (exact erf form)",
    "tanh": "hyperbolic tangent",
}

OPS = [
    OpSpec(
        "bn",
        NormArgs,
        _bn_infer,
        params=_affine_params,
        macs=_affine_params,
        category="norm",
        doc="batch normalisation over channels (BatchNorm2d)",
    ),
    OpSpec(
        "layernorm",
        LayerNormArgs,
        _same,
        params=_affine_params,
        macs=_affine_params,
        category="norm",
        doc="layer normalisation over channels (the last dimension of tokens, dim 0 of a feature map)",
    ),
    OpSpec(
        "scale",
        ScaleArgs,
        _same,
        params=lambda a, ins, out: ins[0].c,
        category="norm",
        doc="learnable per-channel scale (the S of the original attention condenser)",
    ),
    OpSpec("softmax", NoArgs, _softmax_infer, category="act", doc="softmax over channels"),
    OpSpec("identity", NoArgs, _same, category="misc", doc="passes its input through"),
] + [OpSpec(name, NoArgs, _same, category="act", doc=doc) for name, doc in ACTIVATIONS.items()]
