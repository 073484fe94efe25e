"""Ops that join or split tensors: concat, add, mul, channel shuffle, channel slice."""

from __future__ import annotations

from pydantic import Field

from archdsl.ops.base import Cost, OpArgs, OpError, OpSpec, TensorType, Traits, name_label, need_layout


class NoArgs(OpArgs):
    pass


def _concat_infer(a, ins):
    first = ins[0]
    for i, t in enumerate(ins[1:], 2):
        rest_t = t.shape[1:] if first.layout == "chw" else t.shape[:-1]
        rest_f = first.shape[1:] if first.layout == "chw" else first.shape[:-1]
        if t.layout != first.layout or rest_t != rest_f:
            raise OpError(
                f"concat needs equal sizes apart from channels; input 1 is {first}, input {i} is {t}", code="E406"
            )
    c = sum(t.c for t in ins)
    shape = (c, *first.shape[1:]) if first.layout == "chw" else (*first.shape[:-1], c)
    return TensorType(shape=shape, layout=first.layout), a


def _add_infer(a, ins):
    first = ins[0]
    for i, t in enumerate(ins[1:], 2):
        if t != first:
            raise OpError(
                f"add needs inputs of one shape; input 1 is {first}, input {i} is {t}",
                code="E406",
                help="project the shortcut (a 1×1 conv) or pool it to match",
            )
    return first, a


def _mul_infer(a, ins):
    shape = list(ins[0].shape)
    for i, t in enumerate(ins[1:], 2):
        if t.layout != ins[0].layout or len(t.shape) != len(shape):
            raise OpError(f"mul cannot combine {ins[0]} with {t}", code="E406")
        for d, (u, v) in enumerate(zip(shape, t.shape, strict=True)):
            if u != v and 1 not in (u, v):
                raise OpError(f"mul cannot broadcast input 1 {ins[0]} with input {i} {t} (dimension {d})", code="E406")
            shape[d] = max(u, v)
    return TensorType(shape=tuple(shape), layout=ins[0].layout), a


class ShuffleArgs(OpArgs):
    groups: int = Field(ge=1, description="number of channel groups to interleave")


def _shuffle_infer(a: ShuffleArgs, ins):
    (x,) = ins
    need_layout(x, "chw")
    if x.c % a.groups:
        raise OpError(f"shuffle groups={a.groups} does not divide the {x.c} channels", arg="groups", code="E404")
    return x, a


class SliceArgs(OpArgs):
    start: int = Field(ge=0, description="first channel")
    stop: int = Field(ge=1, description="one past the last channel")


def _slice_infer(a: SliceArgs, ins):
    (x,) = ins
    need_layout(x, "chw")
    if not a.start < a.stop <= x.c:
        raise OpError(f"channel slice {a.start}:{a.stop} is outside the {x.c} channels", arg="stop", code="E404")
    return TensorType(shape=(a.stop - a.start, *x.shape[1:])), a


def _elementwise_cost(a, ins, out, macs: int) -> Cost:
    return Cost("elementwise", float(out.numel * max(1, len(ins) - 1)))


def _copy(a, ins, out, macs: int) -> Cost:
    return Cost("copy", 0.0)


MERGE_TRAITS = dict(merge=True, elementwise=True, per_channel=True, per_pixel=True)

OPS = [
    OpSpec(
        "concat",
        NoArgs,
        _concat_infer,
        min_inputs=2,
        max_inputs=64,
        traits=Traits(merge=True, per_pixel=True, linear=True),
        label=name_label("concat"),
        cost=_copy,
        example="concat(x, x)",
        category="merge",
        doc="concatenate along channels",
        semantics="concatenate the inputs along channels (dim 1 for `chw`, last dim for tokens)",
    ),
    OpSpec(
        "add",
        NoArgs,
        _add_infer,
        min_inputs=2,
        max_inputs=64,
        traits=Traits(linear=True, **MERGE_TRAITS),
        label=name_label("add"),
        cost=_elementwise_cost,
        example="add(x, x)",
        category="merge",
        doc="elementwise sum",
        semantics="elementwise sum of all inputs (same shapes)",
    ),
    OpSpec(
        "mul",
        NoArgs,
        _mul_infer,
        min_inputs=2,
        max_inputs=64,
        traits=Traits(**MERGE_TRAITS),
        label=name_label("mul"),
        cost=_elementwise_cost,
        example="mul(x, x)",
        category="merge",
        doc="elementwise product, with broadcasting of size-1 dimensions (gating)",
        semantics="elementwise product with broadcasting of size-1 dimensions (`[C,H,W] * [C,1,1]`)",
    ),
    OpSpec(
        "shuffle",
        ShuffleArgs,
        _shuffle_infer,
        positional=("groups",),
        traits=Traits(per_pixel=True, view=True, linear=True),
        label=lambda a, ins: f"shuffle · g{a.groups}",
        cost=_copy,
        example="shuffle(4)",
        category="merge",
        doc="channel shuffle (ShuffleNet): interleave channels of the groups",
        semantics="channel shuffle: `x.view(B, g, C/g, H, W).transpose(1, 2).reshape(B, C, H, W)`",
    ),
    OpSpec(
        "slice",
        SliceArgs,
        _slice_infer,
        positional=("start", "stop"),
        traits=Traits(per_pixel=True, view=True, linear=True),
        label=lambda a, ins: f"slice {a.start}:{a.stop}",
        cost=_copy,
        example="slice(2, 6)",
        category="merge",
        doc="channels start..stop-1 of the input",
        semantics="channels `start .. stop-1`",
    ),
]
