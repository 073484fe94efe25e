"""The op protocol: an argument schema, a shape rule and the parameter/MAC counts of one primitive.

An :class:`OpSpec` describes a primitive the language knows (``conv``, ``bn``, ``mhsa`` ...).
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
from typing import Literal

from pydantic import BaseModel, ConfigDict

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


class OpError(Exception):
    """A shape or argument rule failed. ``arg`` names the argument to point at, if any."""

    def __init__(self, message: str, arg: str | None = None, help: str | None = None, code: str = "E401"):
        super().__init__(message)
        self.message = message
        self.arg = arg
        self.help = help
        self.code = code


Infer = Callable[[OpArgs, list[TensorType]], tuple[TensorType, OpArgs]]
Count = Callable[[OpArgs, list[TensorType], TensorType], int]


def _zero(args: OpArgs, ins: list[TensorType], out: TensorType) -> int:
    return 0


@dataclass(frozen=True)
class OpSpec:
    name: str
    args: type[OpArgs]
    infer: Infer
    positional: tuple[str, ...] = ()
    min_inputs: int = 1
    max_inputs: int = 1
    params: Count = _zero
    macs: Count = _zero
    category: str = "misc"
    doc: str = ""

    @property
    def variadic(self) -> bool:
        return self.max_inputs != 1


def need_layout(t: TensorType, *layouts: str, what: str = "input") -> None:
    if t.layout not in layouts:
        want = " or ".join(layouts)
        raise OpError(f"{what} must be a {want} tensor, got {t}", code="E402")


def spatial_out(size: int, k: int, s: int, p: int, d: int = 1, ceil: bool = False, axis: str = "height") -> int:
    """Output size of a sliding window along one axis (PyTorch's formula, ceil_mode included)."""
    eff = d * (k - 1) + 1
    span = size + 2 * p - eff
    if span < 0:
        raise OpError(
            f"spatial size shrinks to zero: {axis} {size} with kernel {k}, padding {p}"
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
