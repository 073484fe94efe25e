"""Normalisation layers and activations: shape-preserving ops."""

from __future__ import annotations

from pydantic import Field

from archdsl.ops.base import Cost, OpArgs, OpError, OpSpec, Traits, WeightSpec, name_label, need_layout


class NormArgs(OpArgs):
    eps: float = Field(default=1e-5, gt=0, lt=1, description="added to the variance")
    momentum: float = Field(default=0.1, ge=0, le=1, description="running-statistics momentum")
    affine: bool = Field(default=True, description="learn a per-channel weight and bias (false: running stats only)")


class GroupNormArgs(OpArgs):
    groups: int = Field(default=32, ge=1, description="channel groups normalised together")
    eps: float = Field(default=1e-5, gt=0, lt=1, description="added to the variance")


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


def _affine_macs(a, ins, out) -> int:
    return 2 * ins[0].c if getattr(a, "affine", True) else 0


def _bn_weights(a: NormArgs, ins, out) -> list[WeightSpec]:
    c = ins[0].c
    affine = [WeightSpec("weight", (c,), "ones"), WeightSpec("bias", (c,), "zeros")] if a.affine else []
    return [
        *affine,
        WeightSpec("running_mean", (c,), "zeros", buffer=True),
        WeightSpec("running_var", (c,), "ones", buffer=True),
        WeightSpec("num_batches_tracked", (), "zeros", buffer=True, dtype="int64"),
    ]


def _gn_infer(a: GroupNormArgs, ins):
    (x,) = ins
    need_layout(x, "chw")
    if x.c % a.groups:
        raise OpError(
            f"groups={a.groups} does not divide the {x.c} input channels",
            arg="groups",
            code="E404",
            help=f"choose groups among the divisors of {x.c}",
        )
    return x, a


def _ln_weights(a, ins, out) -> list[WeightSpec]:
    c = ins[0].c
    return [WeightSpec("weight", (c,), "ones"), WeightSpec("bias", (c,), "zeros")]


def _scale_weights(a: ScaleArgs, ins, out) -> list[WeightSpec]:
    return [WeightSpec("weight", (ins[0].c,), "const", value=a.init)]


# FP32 operations per output element of the elementwise ops (what a runtime's kernel does).
FLOPS_PER_ELEMENT: dict[str, int] = {
    "relu": 1,
    "relu6": 2,
    "hardsigmoid": 3,
    "hardswish": 4,
    "sigmoid": 4,
    "tanh": 4,
    "silu": 5,
    "gelu": 8,
    "softmax": 5,
    "layernorm": 8,
    "groupnorm": 8,
    "bn": 2,
    "scale": 1,
}


def _per_element(kind: str, flops: int):
    def cost(a, ins, out, macs: int) -> Cost:
        return Cost(kind, float(flops * out.numel))

    return cost


def _softmax_cost(a, ins, out, macs: int) -> Cost:
    kind = "softmax" if out.layout == "chw" else "activation"
    return Cost(kind, float(FLOPS_PER_ELEMENT["softmax"] * out.numel))


# name: (formula, label, gate)
ACTIVATIONS = {
    "relu": ("max(x, 0)", "ReLU", False),
    "relu6": ("min(max(x, 0), 6)", "ReLU6", False),
    "hardswish": ("x · relu6(x + 3) / 6", "h-swish", False),
    "hardsigmoid": ("relu6(x + 3) / 6", "h-sigmoid", True),
    "sigmoid": ("1 / (1 + exp(-x))", "sigmoid", True),
    "silu": ("x · sigmoid(x) (swish)", "SiLU", False),
    "gelu": ("Gaussian error linear unit (exact erf form)", "GELU", False),
    "tanh": ("hyperbolic tangent", "tanh", False),
}

ACT_TRAITS = dict(activation=True, per_channel=True, per_pixel=True, elementwise=True, saves_output=True)


def _activation(name: str, doc: str, label: str, gate: bool) -> OpSpec:
    # the two cheapest run at memory speed, like an add: a runtime treats them as elementwise
    kind = "elementwise" if name in ("relu", "relu6") else "activation"
    return OpSpec(
        name,
        NoArgs,
        _same,
        traits=Traits(gate=gate, **ACT_TRAITS),
        label=name_label(label),
        cost=_per_element(kind, FLOPS_PER_ELEMENT[name]),
        category="act",
        doc=doc,
        semantics=f"PyTorch's `{name}`" + (" (exact erf form)" if name == "gelu" else "") + f": {doc}",
    )


OPS = [
    OpSpec(
        "bn",
        NormArgs,
        _bn_infer,
        macs=_affine_macs,
        traits=Traits(norm=True, per_channel=True, per_pixel=True, linear=True),
        weights=_bn_weights,
        label=lambda a, ins: "BN" if a.affine else "BN · no affine",
        cost=_per_element("norm", FLOPS_PER_ELEMENT["bn"]),
        example="bn -> bn(affine = false)",
        category="norm",
        doc="batch normalisation over channels (BatchNorm2d); `affine = false`: no weight and bias",
        semantics="`BatchNorm2d(C, eps, momentum, affine)`; without affine, the weight is 1 and the bias 0 "
        "(the running statistics are kept)",
    ),
    OpSpec(
        "groupnorm",
        GroupNormArgs,
        _gn_infer,
        positional=("groups",),
        macs=_affine_macs,
        # statistics over each group's channels and all pixels of one sample: mixes channels and space
        traits=Traits(norm=True),
        weights=_ln_weights,
        label=lambda a, ins: f"GN · g{a.groups}",
        cost=_per_element("norm", FLOPS_PER_ELEMENT["groupnorm"]),
        example="groupnorm(4)",
        category="norm",
        doc="group normalisation: channels in `groups` groups, each normalised over its channels and pixels",
        semantics="`GroupNorm(groups, C, eps)`: per sample, each group of C/groups channels normalised by the mean "
        "and (biased) variance over its channels and pixels, then a per-channel weight and bias",
    ),
    OpSpec(
        "layernorm",
        LayerNormArgs,
        _same,
        macs=_affine_macs,
        traits=Traits(norm=True, per_pixel=True),
        weights=_ln_weights,
        label=name_label("LN"),
        cost=_per_element("norm", FLOPS_PER_ELEMENT["layernorm"]),
        category="norm",
        doc="layer normalisation over channels (the last dimension of tokens, dim 0 of a feature map)",
        semantics="LayerNorm over channels: the last dim of `tokens`/`vec`; for `chw` per pixel over C "
        "(timm's `LayerNorm2d`)",
    ),
    OpSpec(
        "scale",
        ScaleArgs,
        _same,
        traits=Traits(per_channel=True, per_pixel=True, elementwise=True, linear=True),
        weights=_scale_weights,
        label=name_label("scale"),
        cost=_per_element("elementwise", FLOPS_PER_ELEMENT["scale"]),
        example="scale(init = 0.5)",
        category="norm",
        doc="learnable per-channel scale (the S of the original attention condenser)",
        semantics="learnable per-channel multiplier, initialised to `init`",
    ),
    OpSpec(
        "softmax",
        NoArgs,
        _same,
        traits=Traits(activation=True, gate=True, per_pixel=True, saves_output=True),
        label=name_label("softmax"),
        cost=_softmax_cost,
        category="act",
        doc="softmax over channels",
        semantics="softmax over channels (dim 1 of `[B, C, H, W]`, the last dim of tokens/vectors)",
    ),
    OpSpec(
        "identity",
        NoArgs,
        _same,
        traits=Traits(alias=True, view=True, per_channel=True, per_pixel=True, linear=True),
        label=name_label("identity"),
        cost=lambda a, ins, out, macs: Cost("free", 0.0, 0.0),
        category="misc",
        doc="passes its input through",
        semantics="the input",
    ),
] + [_activation(name, doc, label, gate) for name, (doc, label, gate) in ACTIVATIONS.items()]
