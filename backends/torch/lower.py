"""Lowering: each IR node becomes one :class:`Step`, the single description both outputs are made from.

A step is a submodule call (with the constructor that makes the submodule), a function or method
call, an infix operator chain (``a + b + c``) or an alias (``identity``). :mod:`build` turns steps
into a ``torch.fx`` graph, :mod:`codegen` into Python source text; because both read the same
steps, the compiled module and the standalone file compute the same operations in the same order.

The op semantics are those of docs/ir.md; one ``visit_<op>`` function per op, looked up in
:data:`VISITORS`. An op without a visitor is reported by :func:`unsupported` as a located B001
diagnostic naming this backend, before anything is built.
"""

from __future__ import annotations

import keyword
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from archdsl.backend import unsupported_op
from archdsl.diagnostics import Diagnostic, Severity
from archdsl.ir import Graph, Node
from archdsl.ops import OPS, TensorType

from . import layers

NAME = "torch"


@dataclass(frozen=True)
class Ref:
    """The ``index``-th input of the node (in a step's arguments)."""

    index: int


@dataclass(frozen=True)
class ModuleSpec:
    """How to construct a submodule: ``cls(*args, **kwargs)``; kwargs hold non-default values only."""

    cls: type[nn.Module]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def make(self) -> nn.Module:
        return self.cls(*self.args, **self.kwargs)


@dataclass(frozen=True)
class Step:
    kind: str  # "module" | "function" | "method" | "infix" | "alias"
    target: Any = None  # ModuleSpec | callable | method name | operator function
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def _x(node: Node) -> tuple[Ref, ...]:
    return tuple(Ref(i) for i in range(len(node.inputs)))


def _channel_dim(t: TensorType) -> int:
    return 1 if t.layout == "chw" else -1


def visit_conv(node: Node, ins: list[TensorType]) -> Step:
    a = node.args
    kw: dict[str, Any] = {}
    if a.s != 1:
        kw["stride"] = a.s
    cls = nn.Conv2d
    if a.p == "same" or (isinstance(a.p, tuple) and len(a.p) == 4):
        # padding Conv2d cannot express: TF's "same" (per input size) or different sides of one axis
        cls = layers.PaddedConv2d
        kw["pad"] = "same" if a.p == "same" else (a.p[2], a.p[3], a.p[0], a.p[1])  # F.pad's order
    elif a.p:
        kw["padding"] = a.p
    if a.d != 1:
        kw["dilation"] = a.d
    if a.groups != 1:
        kw["groups"] = a.groups
    kw["bias"] = a.bias
    if a.k == 1 and a.p == 0 and (a.s != 1 or a.groups == ins[0].c == a.c > 1):
        cls = layers.PointwiseConv2d
    return Step("module", ModuleSpec(cls, (ins[0].c, a.c, a.k), kw), (Ref(0),))


def visit_linear(node: Node, ins: list[TensorType]) -> Step:
    a = node.args
    kw = {} if a.bias else {"bias": False}
    return Step("module", ModuleSpec(nn.Linear, (ins[0].c, a.c), kw), (Ref(0),))


def visit_bn(node: Node, ins: list[TensorType]) -> Step:
    a = node.args
    kw: dict[str, Any] = {}
    if a.eps != 1e-5:
        kw["eps"] = a.eps
    if a.momentum != 0.1:
        kw["momentum"] = a.momentum
    if not a.affine:
        kw["affine"] = False
    return Step("module", ModuleSpec(nn.BatchNorm2d, (ins[0].c,), kw), (Ref(0),))


def visit_groupnorm(node: Node, ins: list[TensorType]) -> Step:
    kw = {} if node.args.eps == 1e-5 else {"eps": node.args.eps}
    return Step("module", ModuleSpec(nn.GroupNorm, (node.args.groups, ins[0].c), kw), (Ref(0),))


def visit_layernorm(node: Node, ins: list[TensorType]) -> Step:
    kw = {} if node.args.eps == 1e-5 else {"eps": node.args.eps}
    cls = layers.LayerNorm2d if ins[0].layout == "chw" else nn.LayerNorm
    return Step("module", ModuleSpec(cls, (ins[0].c,), kw), (Ref(0),))


def visit_scale(node: Node, ins: list[TensorType]) -> Step:
    kw: dict[str, Any] = {"init": float(node.args.init)}
    if ins[0].layout != "chw":
        kw["spatial"] = False
    return Step("module", ModuleSpec(layers.Scale, (ins[0].c,), kw), (Ref(0),))


def visit_mhsa(node: Node, ins: list[TensorType]) -> Step:
    kw: dict[str, Any] = {"heads": node.args.heads}
    if not node.args.bias:
        kw["bias"] = False
    if node.args.scale is not None:
        kw["scale"] = float(node.args.scale)
    return Step("module", ModuleSpec(layers.Attention, (ins[0].c,), kw), (Ref(0),))


def visit_blurpool(node: Node, ins: list[TensorType]) -> Step:
    a = node.args
    return Step("module", ModuleSpec(layers.BlurPool2d, (ins[0].c,), {"filt": a.filt, "stride": a.s}), (Ref(0),))


def visit_dropout(node: Node, ins: list[TensorType]) -> Step:
    return Step("module", ModuleSpec(nn.Dropout, (float(node.args.p),)), (Ref(0),))


def visit_drop_path(node: Node, ins: list[TensorType]) -> Step:
    return Step("module", ModuleSpec(layers.DropPath, (float(node.args.p),)), (Ref(0),))


def _activation(fn: Callable) -> Callable[[Node, list[TensorType]], Step]:
    def visit(node: Node, ins: list[TensorType]) -> Step:
        return Step("function", fn, (Ref(0),))

    return visit


def visit_softmax(node: Node, ins: list[TensorType]) -> Step:
    return Step("function", F.softmax, (Ref(0),), {"dim": _channel_dim(ins[0])})


def visit_identity(node: Node, ins: list[TensorType]) -> Step:
    return Step("alias", None, (Ref(0),))


def visit_maxpool(node: Node, ins: list[TensorType]) -> Step:
    a = node.args
    kw = {"ceil_mode": True} if a.ceil else {}
    return Step("function", F.max_pool2d, (Ref(0), a.k, a.s, a.p), kw)


def visit_avgpool(node: Node, ins: list[TensorType]) -> Step:
    a = node.args
    kw: dict[str, Any] = {}
    if a.ceil:
        kw["ceil_mode"] = True
    if not a.count_include_pad:
        kw["count_include_pad"] = False
    return Step("function", F.avg_pool2d, (Ref(0), a.k, a.s, a.p), kw)


def visit_upsample(node: Node, ins: list[TensorType]) -> Step:
    a = node.args
    kw: dict[str, Any] = {"scale_factor": float(a.scale), "mode": a.mode}
    if a.mode == "bilinear":
        kw["align_corners"] = False
    return Step("function", F.interpolate, (Ref(0),), kw)


def visit_gap(node: Node, ins: list[TensorType]) -> Step:
    return Step("function", F.adaptive_avg_pool2d, (Ref(0), 1))


def visit_flatten(node: Node, ins: list[TensorType]) -> Step:
    return Step("function", torch.flatten, (Ref(0), 1))


def visit_concat(node: Node, ins: list[TensorType]) -> Step:
    return Step("function", torch.cat, (list(_x(node)),), {"dim": _channel_dim(ins[0])})


def visit_add(node: Node, ins: list[TensorType]) -> Step:
    return Step("infix", operator.add, _x(node))


def visit_mul(node: Node, ins: list[TensorType]) -> Step:
    return Step("infix", operator.mul, _x(node))


def visit_shuffle(node: Node, ins: list[TensorType]) -> Step:
    return Step("function", layers.channel_shuffle, (Ref(0), node.args.groups))


def visit_slice(node: Node, ins: list[TensorType]) -> Step:
    a = node.args
    return Step("method", "narrow", (Ref(0), 1, a.start, a.stop - a.start))


def visit_unfold(node: Node, ins: list[TensorType]) -> Step:
    return Step("function", layers.unfold_patches, (Ref(0), node.args.p))


def visit_fold(node: Node, ins: list[TensorType]) -> Step:
    return Step("function", layers.fold_patches, (Ref(0), node.args.p, node.args.h))


VISITORS: dict[str, Callable[[Node, list[TensorType]], Step]] = {
    "conv": visit_conv,
    "linear": visit_linear,
    "bn": visit_bn,
    "groupnorm": visit_groupnorm,
    "layernorm": visit_layernorm,
    "scale": visit_scale,
    "mhsa": visit_mhsa,
    "blurpool": visit_blurpool,
    "dropout": visit_dropout,
    "drop_path": visit_drop_path,
    "relu": _activation(F.relu),
    "relu6": _activation(F.relu6),
    "hardswish": _activation(F.hardswish),
    "hardsigmoid": _activation(F.hardsigmoid),
    "sigmoid": _activation(torch.sigmoid),
    "silu": _activation(F.silu),
    "gelu": _activation(F.gelu),
    "tanh": _activation(torch.tanh),
    "softmax": visit_softmax,
    "identity": visit_identity,
    "maxpool": visit_maxpool,
    "avgpool": visit_avgpool,
    "upsample": visit_upsample,
    "gap": visit_gap,
    "flatten": visit_flatten,
    "concat": visit_concat,
    "add": visit_add,
    "mul": visit_mul,
    "shuffle": visit_shuffle,
    "slice": visit_slice,
    "unfold": visit_unfold,
    "fold": visit_fold,
}


# ---- in-place activations ------------------------------------------------------------------
# An activation may overwrite its input when nothing else reads that tensor: the producer's output
# has this activation as its only consumer, is a fresh tensor (not a view or alias of another), and
# is not needed by the producer's own backward (convolutions, norms, linear layers, pools and merges
# save their inputs, not their outputs; activations and softmax save their outputs). This saves an
# allocation per activation, which on CPU at batch 1 is a large part of an activation's cost.
# Which ops qualify is the ops' traits; how PyTorch does each in place is the table below.

INPLACE_FORMS: dict[str, tuple[Callable | None, str | None]] = {
    "relu": (F.relu, None),
    "relu6": (F.relu6, None),
    "hardswish": (F.hardswish, None),
    "hardsigmoid": (F.hardsigmoid, None),
    "silu": (F.silu, None),
    "sigmoid": (None, "sigmoid_"),
    "tanh": (None, "tanh_"),
}
"""The in-place form of an activation in PyTorch: a function taking ``inplace=True``, or a method
(an activation without one, such as ``gelu``, runs out of place)."""


def may_overwrite_input(op: str) -> bool:
    """An elementwise activation: each output element from the input element at its place only."""
    t = OPS[op].traits
    return t.activation and t.elementwise


def fresh_output(op: str) -> bool:
    """The op's output is a new tensor (not a view) that its own backward does not need."""
    t = OPS[op].traits
    return not (t.view or t.saves_output)


def _inplace(node: Node, producers: dict[str, Node], uses: dict[str, int]) -> Step | None:
    if not may_overwrite_input(node.op) or node.op not in INPLACE_FORMS:
        return None
    src = producers.get(node.inputs[0])
    if src is None or not fresh_output(src.op) or uses.get(src.id, 0) != 1:
        return None
    fn, method = INPLACE_FORMS[node.op]
    if method is not None:
        return Step("method", method, (Ref(0),))
    return Step("function", fn, (Ref(0),), {"inplace": True})


INPLACE_BN_NUMEL = 1 << 18  # per sample: 64 channels at 64², 16 at 128² (measured: no gain below)


def _inplace_bn(node: Node, producers: dict[str, Node], uses: dict[str, int]) -> Step | None:
    """Batch norm over a large, fresh, single-use tensor: scaled in place at inference."""
    src = producers.get(node.inputs[0])
    if node.op != "bn" or src is None or src.op != "conv" or uses.get(src.id, 0) != 1:
        return None
    if node.out.numel < INPLACE_BN_NUMEL:
        return None
    step = visit_bn(node, [node.out])
    return Step("module", ModuleSpec(layers.InplaceBatchNorm2d, step.target.args, step.target.kwargs), (Ref(0),))


def lower(graph: Graph, inplace: bool = True, outputs: list[str] | None = None) -> list[tuple[Node, Step]]:
    """Every node of the graph with its step, in the graph's (topological) order.

    ``outputs``: tensors the module returns besides (or instead of) the graph's output (features):
    each is one more use, so nothing overwrites them in place.

    With ``inplace``, activations overwrite their input where that is safe (see :func:`_inplace`),
    and so do batch norms at inference over large conv outputs (:data:`INPLACE_BN_NUMEL`).
    """
    types = {i.name: i.type for i in graph.inputs}
    producers = {n.id: n for n in graph.nodes}
    uses: dict[str, int] = {}
    for n in graph.nodes:
        for ref in n.inputs:
            uses[ref] = uses.get(ref, 0) + 1
    for ref in [graph.output, *(outputs or ())]:
        uses[ref] = uses.get(ref, 0) + 1
    out = []
    for node in graph.nodes:
        step = (_inplace(node, producers, uses) or _inplace_bn(node, producers, uses)) if inplace else None
        if step is None:
            step = VISITORS[node.op](node, [types[i] for i in node.inputs])
        types[node.id] = node.out
        out.append((node, step))
    return out


# ---- what this backend cannot express ----------------------------------------------------------

# Names a submodule cannot take: attributes of every module, and of the fx GraphModule we build.
_RESERVED = frozenset(dir(torch.fx.GraphModule)) | {"training", "meta"}


def _name_problem(segment: str) -> str | None:
    if not segment.isidentifier():
        return None if segment.isdigit() else "it is not a Python identifier"
    if keyword.iskeyword(segment):
        return "it is a Python keyword"
    if segment in _RESERVED:
        return "it is an attribute of torch.nn.Module"
    return None


def unsupported(graph: Graph) -> list[Diagnostic]:
    """B001 for ops without a visitor; B101 for paths that cannot name a PyTorch submodule (the
    nodes whose step is a submodule call)."""
    diags: list[Diagnostic] = []
    holders: dict[str, Node] = {}
    for node in graph.nodes:
        if node.op not in VISITORS:
            diags.append(unsupported_op(NAME, node))
            continue
        if VISITORS[node.op](node, [graph.type_of(i) for i in node.inputs]).kind != "module":
            continue
        holders[node.id] = node
        for seg in node.id.split("."):
            problem = _name_problem(seg)
            if problem:
                diags.append(
                    Diagnostic(
                        "B101",
                        f"the {NAME} backend cannot name a submodule '{seg}' (node {node.id}): {problem}",
                        node.span,
                        Severity.ERROR,
                        help="rename the statement, block instance or column label that gives this name",
                    )
                )
                break
    for path, node in holders.items():
        parts = path.split(".")
        for i in range(1, len(parts)):
            prefix = ".".join(parts[:i])
            if prefix in holders:
                diags.append(
                    Diagnostic(
                        "B101",
                        f"the {NAME} backend cannot nest submodule {path} inside the {holders[prefix].op} "
                        f"submodule {prefix}",
                        node.span,
                        Severity.ERROR,
                        help="rename one of the two so that neither path is a prefix of the other",
                    )
                )
                break
    return diags
