"""The op protocol: everything archdsl knows about one primitive, in one place.

An :class:`OpSpec` describes a primitive the language knows (``conv``, ``bn``, ``mhsa`` ...): its
argument schema, shape rule, MAC count, its :class:`Traits` (what kind of op it is, for lint,
lowerings, passes and the cost model), its weights (:class:`WeightSpec`: names, shapes and
initialisation; the parameter count is their sum), its label on diagrams and its :class:`Cost`
for latency models. Consumers ask the op; they keep no tables of op names of their own.
Shape rules raise :class:`OpError`; the resolver turns it into a diagnostic at the call site.

MAC convention: multiply-accumulates of parameterised layers as torchinfo counts them: for a
convolution ``weight.numel() * H_out * W_out`` (+ the bias the same way), for a linear layer
``weight.numel()`` (+ bias) per row it is applied to, for a norm layer its affine parameters.
Parameter-free ops (activations, pooling, elementwise merges, blur pool) count 0 MACs. Attention
counts its projections per token and the two matrix products (QKᵀ and AV).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag
from pydantic_core import PydanticCustomError

Layout = Literal["chw", "tokens", "vec"]


class TensorType(BaseModel):
    """The type of a tensor for one sample (the batch dimension is implicit).

    ``chw``: an image feature map ``[C, H, W]``; ``tokens``: ``[P, N, C]`` (P patch positions,
    N patches, C channels, as MobileViT lays them out); ``vec``: ``[C]``.
    """

    model_config = ConfigDict(frozen=True)

    shape: tuple[int, ...]
    layout: Layout = "chw"

    @property
    def c(self) -> int:
        return self.shape[0] if self.layout == "chw" else self.shape[-1]

    @property
    def h(self) -> int:
        return self.shape[1] if self.layout == "chw" else 1

    @property
    def w(self) -> int:
        return self.shape[2] if self.layout == "chw" else 1

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    def __str__(self) -> str:
        return "[" + ", ".join(str(d) for d in self.shape) + "]" + ("" if self.layout == "chw" else f" {self.layout}")


class OpArgs(BaseModel):
    """Base of every op's argument schema: unknown arguments are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# ---- per-axis arguments: an int for both axes, or a tuple ----------------------------------------


def _tuple_check(lengths: tuple[int, ...], lo: int, shape: str):
    """The length and the entries of a per-axis tuple (error type ``axes_tuple``: the resolver's
    E320, with ``help``)."""
    help = f"an integer is the same on both axes; a tuple is {shape}"

    def check(v: tuple[int, ...]) -> tuple[int, ...]:
        if len(v) not in lengths:
            raise PydanticCustomError(
                "axes_tuple",
                "a tuple of {n} entries; give an integer or {shape}",
                {"n": len(v), "shape": shape, "help": help},
            )
        if any(x < lo for x in v):
            shown = "(" + ", ".join(map(str, v)) + ")"
            raise PydanticCustomError(
                "axes_tuple", "every entry must be {lo} or more, got {v}", {"lo": lo, "v": shown, "help": help}
            )
        return v

    return AfterValidator(check)


def _kind(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, str):
        return "str"
    return "tuple" if isinstance(v, (tuple, list)) else "int"


Window = Annotated[
    Annotated[Annotated[int, Field(ge=1)], Tag("int")]
    | Annotated[Annotated[tuple[int, ...], _tuple_check((2,), 1, "(height, width)")], Tag("tuple")],
    Discriminator(_kind),
]
"""A kernel size or stride: an int (both axes) or ``(height, width)``."""

PairPadding = Annotated[
    Annotated[Annotated[int, Field(ge=0)], Tag("int")]
    | Annotated[Annotated[tuple[int, ...], _tuple_check((2,), 0, "(height, width)")], Tag("tuple")],
    Discriminator(_kind),
]
"""Symmetric zero padding: an int (every side) or ``(height, width)`` (both sides of each axis)."""

Padding = Annotated[
    Annotated[Annotated[int, Field(ge=0)], Tag("int")]
    | Annotated[
        Annotated[tuple[int, ...], _tuple_check((2, 4), 0, "(height, width) or (top, bottom, left, right)")],
        Tag("tuple"),
    ]
    | Annotated[Literal["same"], Tag("str")]
    | Annotated[None, Tag("none")],
    Discriminator(_kind),
]
"""Zero padding: an int (every side), ``(height, width)`` (both sides of each axis), ``(top, bottom,
left, right)``, ``"same"`` (TensorFlow's: output ``ceil(size / s)``, computed per input size, the odd
row or column at the bottom or right) or ``None`` (the op's default)."""


def axes(v: int | tuple[int, ...]) -> tuple[int, int]:
    """A window or stride as ``(height, width)``."""
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def one_or_pair(h: int, w: int) -> int | tuple[int, int]:
    """``h`` when both axes agree (so square windows stay ints in the IR), else ``(h, w)``."""
    return h if h == w else (h, w)


def sides(p: int | tuple[int, ...]) -> tuple[int, int, int, int]:
    """Explicit padding as ``(top, bottom, left, right)``."""
    if isinstance(p, int):
        return (p, p, p, p)
    if len(p) == 2:
        return (p[0], p[0], p[1], p[1])
    return (p[0], p[1], p[2], p[3])


def compact_sides(t: int, b: int, left: int, r: int) -> int | tuple[int, ...]:
    """The shortest form of a padding: an int, ``(height, width)`` or the four sides."""
    if t == b and left == r:
        return one_or_pair(t, left)
    return (t, b, left, r)


def same_pads(size: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """TensorFlow's "same" padding of one axis (timm's ``get_same_padding``): (before, after)."""
    total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


class OpError(Exception):
    """A shape or argument rule failed. ``arg`` names the argument to point at, if any."""

    def __init__(self, message: str, arg: str | None = None, help: str | None = None, code: str = "E401"):
        super().__init__(message)
        self.message = message
        self.arg = arg
        self.help = help
        self.code = code


@dataclass(frozen=True)
class Traits:
    """What kind of op this is. Consumers (lint rules, lowerings, IR passes, the cost model) reason
    about ops through these facts, never through lists of op names.

    Every flag describes the op's inference-time computation on one sample.
    """

    norm: bool = False
    """a normalisation layer (batch, layer, group norm)"""
    activation: bool = False
    """an elementwise non-linearity (relu, silu ...); gates are activations too"""
    gate: bool = False
    """squashes to [0, 1] or to a distribution (sigmoid, hardsigmoid, softmax): used to weight a tensor"""
    per_channel: bool = False
    """each output channel depends on the same input channel only (no mixing across channels)"""
    per_pixel: bool = False
    """each output pixel depends on the same input pixel only (no mixing across space)"""
    alias: bool = False
    """the identity at inference (identity, dropout, drop path): a runtime drops it"""
    reshape: bool = False
    """rearranges elements without arithmetic (flatten): free in a runtime"""
    view: bool = False
    """the output may share memory with an input (a slice, a reshape, an alias)"""
    saves_output: bool = False
    """training keeps the output for the backward pass (activations), so nothing may overwrite it"""
    elementwise: bool = False
    """one output element from the elements at the same position of the inputs (activations, add, mul)"""
    merge: bool = False
    """combines several inputs into one (concat, add, mul)"""
    strided: bool = False
    """has a stride argument ``s`` (``None`` meaning: the window ``k``) that can downsample"""
    global_pool: bool = False
    """reduces all spatial positions to one (gap)"""
    linear: bool = False
    """an affine map of its input(s) at inference (conv, linear, batch norm, average and blur pooling, add,
    concat, reshapes, aliases): a low-pass filter before it is kept; max pooling and activations are not"""
    antialias: bool = False
    """low-pass filters with a fixed filter before it subsamples (a blur pool): downsamples without aliasing"""


@dataclass(frozen=True)
class WeightSpec:
    """One tensor an op owns, named relative to its node id (``weight``, ``qkv.bias``).

    ``init`` names an initialisation policy of :mod:`archdsl.weights` (``conv``: normal with std
    ``sqrt(2 / fan_out)``; ``linear``: normal with std 0.01; ``zeros``; ``ones``; ``const``: ``value``).
    A ``buffer`` is state, not a learned parameter (running statistics): it is not counted in the
    op's parameters.
    """

    name: str
    shape: tuple[int, ...]
    init: Literal["conv", "linear", "zeros", "ones", "const"]
    buffer: bool = False
    fan_out: int = 0
    value: float = 0.0
    dtype: Literal["float32", "int64"] = "float32"

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


COST_KINDS: dict[str, str] = {
    "conv_dense": "k x k convolution with groups = 1 (k > 1)",
    "conv_1x1": "point-wise convolution, groups = 1 (a GEMM)",
    "conv_grouped": "grouped convolution, 1 < groups < channels",
    "conv_dw": "depthwise convolution (groups = input channels)",
    "linear": "fully connected layer over a vector or over tokens",
    "attention": "multi-head self-attention (projections, QK^T, softmax, AV)",
    "pool": "max/average pooling, global average pooling",
    "blurpool": "anti-aliased downsampling: reflect pad + fixed depthwise filter",
    "softmax": "softmax over the channels of a feature map",
    "norm": "layer norm, group norm, batch norm that could not be folded",
    "activation": "an activation that is not fused into the convolution before it",
    "elementwise": "add, mul, scale (with broadcasting), the cheapest activations",
    "copy": "data movement: concat, slice, channel shuffle, upsample",
    "layout": "unfold/fold between feature maps and MobileViT tokens (6-D transposes)",
    "free": "no work at inference (aliases, reshapes)",
}
"""The op kinds latency models tell apart (each has its own efficiency on a machine)."""

BYTES_FP32 = 4


@dataclass(frozen=True)
class Cost:
    """What one op costs a runtime, before any fusion: its kind, FP32 floating-point operations and
    the activation bytes it moves (``None``: its inputs and output once each, FP32). Weight bytes
    come from the op's weights."""

    kind: str
    flops: float
    act_bytes: float | None = None


Infer = Callable[[OpArgs, list[TensorType]], tuple[TensorType, OpArgs]]
Count = Callable[[OpArgs, list[TensorType], TensorType], int]
Weights = Callable[[OpArgs, list[TensorType], TensorType], list[WeightSpec]]
Label = Callable[[OpArgs, list[TensorType]], str]
CostFn = Callable[[OpArgs, list[TensorType], TensorType, int], Cost]


def _zero(args: OpArgs, ins: list[TensorType], out: TensorType) -> int:
    return 0


def no_weights(args: OpArgs, ins: list[TensorType], out: TensorType) -> list[WeightSpec]:
    return []


def free(args: OpArgs, ins: list[TensorType], out: TensorType, macs: int) -> Cost:
    return Cost("free", 0.0, 0.0)


def name_label(name: str) -> Label:
    """A label that is a fixed word (``ReLU``, ``BN``)."""

    def label(args: OpArgs, ins: list[TensorType]) -> str:
        return name

    return label


@dataclass(frozen=True)
class OpSpec:
    """One primitive op. ``params`` is derived from ``weights`` (learned tensors, buffers excluded)."""

    name: str
    args: type[OpArgs]
    infer: Infer
    positional: tuple[str, ...] = ()
    min_inputs: int = 1
    max_inputs: int = 1
    macs: Count = _zero
    traits: Traits = Traits()
    weights: Weights = no_weights
    label: Label | None = None
    cost: CostFn | None = None
    category: str = "misc"
    doc: str = ""
    """one line for the language reference's op table"""
    semantics: str = ""
    """what every backend must compute, exactly (docs/ir.md)"""
    example: str = ""
    """a pipeline using the op (default: its bare name), for the docs and the registry's own tests"""
    example_input: tuple[int, ...] = (8, 16, 16)
    """the input ``x`` the example reads"""

    @property
    def variadic(self) -> bool:
        return self.max_inputs != 1

    def params(self, args: OpArgs, ins: list[TensorType], out: TensorType) -> int:
        return sum(w.numel for w in self.weights(args, ins, out) if not w.buffer)

    def title(self, args: OpArgs, ins: list[TensorType]) -> str:
        """The op's label on a diagram (``conv 3×3 · 32 · g4``)."""
        if self.label is not None:
            return self.label(args, ins)
        return self.name

    def stride(self, args: OpArgs) -> int:
        """The (largest) stride of a strided op; 1 for every other op."""
        if not self.traits.strided:
            return 1
        s = getattr(args, "s", None)
        if s is None:
            s = getattr(args, "k", 1)
        return max(s) if isinstance(s, tuple) else s


def need_layout(t: TensorType, *layouts: str, what: str = "input") -> None:
    if t.layout not in layouts:
        want = " or ".join(layouts)
        raise OpError(f"{what} must be a {want} tensor, got {t}", code="E402")


def spatial_out(
    size: int, k: int, s: int, p: int, d: int = 1, ceil: bool = False, axis: str = "height", after: int | None = None
) -> int:
    """Output size of a sliding window along one axis (PyTorch's formula, ceil_mode included);
    ``p`` pads before the input and ``after`` (default ``p``) after it."""
    eff = d * (k - 1) + 1
    after = p if after is None else after
    span = size + p + after - eff
    if span < 0:
        pad = str(p) if after == p else f"{p} + {after}"
        raise OpError(
            f"spatial size shrinks to zero: {axis} {size} with kernel {k}, padding {pad}"
            + (f", dilation {d}" if d != 1 else ""),
            arg="k",
            code="E403",
            help="the input is too small here; remove a downsampling step or use a larger input",
        )
    if ceil:
        out = -(-span // s) + 1
        if (out - 1) * s >= size + p:
            out -= 1
    else:
        out = span // s + 1
    return out
