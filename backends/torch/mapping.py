"""Weights from another implementation, matched by the structure of the computation.

A timm, torchvision or hand-written PyTorch module of the same architecture names its tensors
differently (``stages.0.blocks.0.conv_dw.weight`` against ``stage1.0.dw.conv.weight``) and may
register them in another order (ConvNeXt's layer scale ``gamma`` before its submodules, MobileOne's
identity BN before its convolutions), so neither names nor registration order pair them up. What
both share is the computation. :func:`trace` runs one forward pass under a ``TorchFunctionMode``
and records every *layer*: a torch call that combines the activations with parameters or buffers
(``conv2d``, ``batch_norm``, ``linear``, ``layer_norm``, a layer scale's ``mul``), its kind, the
shapes of its tensors by argument position, and the layers its input comes from (through any
number of parameter-free ops: activations, pooling, adds, reshapes).

Each layer gets a structural key: its kind and shapes plus the sorted keys of the layers it reads
(a Weisfeiler-Lehman hash over the dataflow graph of layers). The key does not depend on the order
in which parallel branches run or are registered, but it does tell a 3×3 branch's batch norm from
a 1×1 branch's. Layers are paired key by key, in execution order among equal keys (interchangeable
branches, e.g. MobileOne's over-parameterised ``k×k`` convolutions, summed; such ties are listed
in :attr:`Mapping.ties`). A key one side lacks is a mismatch, reported at the first layer in
execution order where the two computations part, with both sides' names and shapes; nothing is
loaded then (:class:`archdsl.weights.WeightsError`, code B009).

Tracing runs in eval mode with autograd on (so every batch norm takes PyTorch's ordinary path, not
archdsl's in-place inference one) and no parameter requiring grad (so no autograd graph is built),
and the modules' modes and ``requires_grad`` flags are restored afterwards: nothing is changed.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from archdsl.weights import Problem, WeightsError

OPTIONAL = ("num_batches_tracked",)
INPUT = -1

#: torch calls that apply a weight linearly, whatever the implementation: a depthwise 1×1 conv may
#: be a broadcast ``mul``, a 1×1 conv a ``linear`` or a ``matmul``; shapes still tell them apart
_LINEAR = ("conv", "mul", "linear", "matmul", "addmm", "einsum", "bmm")
_KINDS = {"conv1d": "conv", "conv2d": "conv", "conv3d": "conv", "multiply": "mul", "imul": "mul", "rmul": "mul"}


def _kind(func: Any) -> str:
    name = getattr(func, "__name__", str(func)).strip("_")
    name = _KINDS.get(name, name)
    return "conv" if name in _LINEAR else name  # "conv" reads best in messages: most of them are


@dataclass
class Layer:
    """One traced layer: where its tensors live (state_dict keys by role) and whom it reads."""

    index: int
    kind: str
    tensors: dict[str, tuple[str, ...]]  # role ("arg1", "weight") -> state_dict keys it derives from
    shapes: dict[str, tuple[tuple[int, ...], ...]]
    preds: tuple[int, ...]
    key: int = 0

    def describe(self) -> str:
        parts = [
            f"{'+'.join(keys)} {' '.join(str(list(s)) for s in self.shapes[r])}" for r, keys in self.tensors.items()
        ]
        return f"{self.kind}({', '.join(parts)})"


@dataclass
class Trace:
    layers: list[Layer]
    keys: dict[str, tuple[int, ...]]  # state_dict key -> shape (every tensor of the module)
    used: set[str] = field(default_factory=set)


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _flatten(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _flatten(v)]
    return []


class _Recorder(TorchFunctionMode):
    def __init__(self, names: dict[int, str]):
        super().__init__()
        self.names = names  # id(parameter or buffer) -> state_dict key
        self.keep: list[torch.Tensor] = []  # tensors alive for the whole trace, so ids are never reused
        self.front: dict[int, frozenset[int]] = {}  # activation tensor -> the layers it comes from
        self.derived: dict[int, frozenset[str]] = {}  # parameter-only tensor -> the keys it is made of
        self.layers: list[Layer] = []

    def watch_input(self, x: torch.Tensor) -> None:
        self.keep.append(x)
        self.front[id(x)] = frozenset({INPUT})

    def _origin(self, t: torch.Tensor) -> frozenset[str] | None:
        key = self.names.get(id(t))
        if key is not None:
            return frozenset({key})
        return self.derived.get(id(t))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        roles: dict[str, frozenset[str]] = {}
        front: set[int] = set()
        items = [(f"arg{i}", a) for i, a in enumerate(args)] + sorted(kwargs.items())
        for role, value in items:
            for t in _flatten(value):
                origin = self._origin(t)
                if origin is not None:
                    roles[role] = roles.get(role, frozenset()) | origin
                elif id(t) in self.front:
                    front |= self.front[id(t)]
        outs = _flatten(out)
        if not outs:
            return out
        self.keep.extend(outs)
        if roles and front:  # a layer: activations meet parameters
            idx = len(self.layers)
            self.layers.append(
                Layer(
                    idx,
                    _kind(func),
                    {r: tuple(sorted(k)) for r, k in roles.items()},
                    {},
                    tuple(sorted(front)),
                )
            )
            for t in outs:
                self.front[id(t)] = frozenset({idx})
        elif roles:  # made of parameters only (gamma.reshape(1, -1, 1, 1), weight * rsqrt(var))
            merged = frozenset().union(*roles.values())
            for t in outs:
                if id(t) not in self.names:
                    self.derived[id(t)] = merged
        elif front:
            fs = frozenset(front)  # an in-place op returns its input: it now also holds the others
            for t in outs:
                self.front[id(t)] = fs
        return out


def trace(module: torch.nn.Module, example: torch.Tensor) -> Trace:
    """The layers ``module`` runs on ``example``, in execution order (``module`` is not changed)."""
    m = module
    modes = [(sub, sub.training) for sub in m.modules()]
    grads = [(p, p.requires_grad) for p in m.parameters()]
    m.eval()
    for p, _ in grads:  # autograd on (every batch norm takes the ordinary path), but no graph built
        p.requires_grad_(False)
    try:
        return _trace(m, example)
    finally:
        for sub, mode in modes:
            sub.training = mode
        for p, flag in grads:
            p.requires_grad_(flag)


def _trace(m: torch.nn.Module, example: torch.Tensor) -> Trace:
    names: dict[int, str] = {}
    keys: dict[str, tuple[int, ...]] = {}
    for k, t in m.state_dict(keep_vars=True).items():
        keys[k] = tuple(t.shape)
        names.setdefault(id(t), k)
    rec = _Recorder(names)
    x = example.clone()
    rec.watch_input(x)
    with torch.enable_grad(), rec:
        m(x)
    shapes_of = keys
    for layer in rec.layers:
        layer.shapes = {r: tuple(shapes_of[k] for k in ks) for r, ks in layer.tensors.items()}
    _assign_keys(rec.layers)
    used = {k for layer in rec.layers for ks in layer.tensors.values() for k in ks}
    return Trace(rec.layers, keys, used)


def _assign_keys(layers: list[Layer]) -> None:
    by_index = {layer.index: layer for layer in layers}
    for layer in layers:  # execution order is a topological order of the layers
        preds = sorted(by_index[p].key if p != INPUT else 0 for p in layer.preds)
        shapes = tuple(sorted(s for s in layer.shapes.values()))  # roles may be positional or named
        layer.key = hash((layer.kind, shapes, tuple(preds)))


@dataclass
class Mapping:
    """The result: foreign key -> our key, and what was left aside."""

    pairs: dict[str, str]  # ours -> theirs (batch norm step counters are not paired: they keep their value)
    layers: int
    ties: list[str] = field(default_factory=list)  # interchangeable layers paired in execution order
    skipped: list[str] = field(default_factory=list)  # tensors of theirs no layer reads (listed, not loaded)

    def state_dict(self, theirs: MappingABC[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {ours: theirs[k].detach().clone() for ours, k in self.pairs.items()}


def _mismatch(ours: Trace, theirs: Trace, what: str) -> WeightsError:
    return WeightsError(
        [Problem(what, None, "both modules must compute the same architecture layer for layer")], fits=False
    )


def match(ours: Trace, theirs: Trace) -> Mapping:
    """Pair the two traces' layers by structural key (raises WeightsError B009 on any mismatch)."""
    if len(ours.layers) != len(theirs.layers) or sorted(la.key for la in ours.layers) != sorted(
        la.key for la in theirs.layers
    ):
        raise _first_difference(ours, theirs)
    queue: dict[int, list[Layer]] = {}
    for la in theirs.layers:
        queue.setdefault(la.key, []).append(la)
    counts: dict[int, int] = {}
    for la in ours.layers:
        counts[la.key] = counts.get(la.key, 0) + 1
    pairs: dict[str, str] = {}
    ties: list[str] = []
    for la in ours.layers:
        lb = queue[la.key].pop(0)
        if counts[la.key] > 1 and lb.index != la.index:
            ties.append(f"ours #{la.index} {la.describe()} <- theirs #{lb.index} {lb.describe()}")
        for a, b in _pair_tensors(la, lb, ours, theirs):
            if True:
                if ours.keys[a] != theirs.keys[b]:
                    raise _mismatch(
                        ours, theirs, f"{a} {list(ours.keys[a])} and {b} {list(theirs.keys[b])} differ in shape"
                    )
                if a in pairs and pairs[a] != b:
                    raise _mismatch(ours, theirs, f"{a} would take both {pairs[a]} and {b} (a shared tensor?)")
                pairs[a] = b
    missing = [k for k in ours.keys if k not in pairs and k.rsplit(".", 1)[-1] not in OPTIONAL]
    if missing:
        raise WeightsError(
            [
                Problem(
                    f"{len(missing)} tensors of the spec's module are read by no layer of the trace, "
                    f"so no foreign tensor can be matched to them: {', '.join(missing[:5])}",
                    None,
                    "this is a limit of the structural matching; report it with the spec",
                )
            ],
            fits=False,
        )
    taken = set(pairs.values())
    skipped = [k for k in theirs.keys if k not in taken]
    return Mapping(pairs, len(ours.layers), ties, skipped)


def _pair_tensors(la: Layer, lb: Layer, ours: Trace, theirs: Trace) -> list[tuple[str, str]]:
    """The tensors of two paired layers: by argument role when both name the same roles, else by
    shape (a shape that two roles share is then ambiguous)."""
    if set(la.tensors) == set(lb.tensors) and all(len(la.tensors[r]) == len(lb.tensors[r]) for r in la.tensors):
        return [(a, b) for r in la.tensors for a, b in zip(la.tensors[r], lb.tensors[r], strict=True)]
    mine = sorted((ours.keys[k], k) for ks in la.tensors.values() for k in ks)
    other = sorted((theirs.keys[k], k) for ks in lb.tensors.values() for k in ks)
    shapes = [s for s, _ in mine]
    if len(set(shapes)) != len(shapes) or len(mine) != len(other):
        raise _mismatch(
            ours,
            theirs,
            f"layer #{la.index} {la.describe()} and theirs #{lb.index} {lb.describe()} pass their tensors "
            "differently and several have one shape: which is which is ambiguous",
        )
    return [(a, b) for (_, a), (_, b) in zip(mine, other, strict=True)]


def _first_difference(ours: Trace, theirs: Trace) -> WeightsError:
    """The first layer (execution order) whose structural key the other side lacks, with context."""
    theirs_keys: dict[int, int] = {}
    for la in theirs.layers:
        theirs_keys[la.key] = theirs_keys.get(la.key, 0) + 1
    ours_keys: dict[int, int] = {}
    for la in ours.layers:
        ours_keys[la.key] = ours_keys.get(la.key, 0) + 1
    bad_ours = next((la for la in ours.layers if theirs_keys.get(la.key, 0) < ours_keys[la.key]), None)
    bad_theirs = next((la for la in theirs.layers if ours_keys.get(la.key, 0) < theirs_keys[la.key]), None)
    lines = [f"the two modules do not compute the same layers (ours: {len(ours.layers)}, theirs: {len(theirs.layers)})"]
    if bad_ours is not None:
        lines.append(f"first layer of ours without a counterpart: #{bad_ours.index} {bad_ours.describe()}")
        near = theirs.layers[bad_ours.index] if bad_ours.index < len(theirs.layers) else None
        if near is not None:
            lines.append(f"theirs at that point of the forward: #{near.index} {near.describe()}")
    if bad_theirs is not None:
        lines.append(f"first layer of theirs without a counterpart: #{bad_theirs.index} {bad_theirs.describe()}")
    return WeightsError(
        [Problem("; ".join(lines), None, "check that the spec and the other implementation are the same architecture")],
        fits=False,
    )


def example_input(module: torch.nn.Module) -> torch.Tensor:
    from .build import GRAPH_KEY

    graph = getattr(module, "meta", {}).get(GRAPH_KEY)
    if graph is None:
        raise ValueError("load_weights() takes a module made by archdsl.build (it carries its IR)")
    shape = graph.inputs[0].type.shape
    return torch.randn(1, *shape, generator=torch.Generator().manual_seed(0))


def map_state_dict(
    module: torch.nn.Module, source: torch.nn.Module, state_dict: MappingABC[str, torch.Tensor] | None = None
) -> tuple[Mapping, dict[str, torch.Tensor]]:
    """Our module's state_dict made of ``source``'s tensors (or ``state_dict``, laid out as
    ``source``'s), and the mapping. Raises WeightsError (B009)."""
    x = example_input(module)
    theirs_sd = dict(state_dict) if state_dict is not None else source.state_dict()
    src = source
    if state_dict is not None:
        _check_layout(src, theirs_sd)
    ours_t = trace(module, x)
    theirs_t = trace(src, x)
    mapping = match(ours_t, theirs_t)
    return mapping, mapping.state_dict(theirs_sd)


def _check_layout(source: torch.nn.Module, state: dict[str, torch.Tensor]) -> None:
    own = source.state_dict()
    problems = []
    for k, v in own.items():
        if k.rsplit(".", 1)[-1] in OPTIONAL:  # batch norm step counters: never loaded, never required
            continue
        if k not in state:
            problems.append(Problem(f"the checkpoint has no tensor {k} {list(v.shape)}"))
        elif tuple(state[k].shape) != tuple(v.shape):
            problems.append(Problem(f"{k}: the checkpoint has {list(state[k].shape)}, the model {list(v.shape)}"))
    extra = [k for k in state if k not in own]
    if extra:
        problems.append(Problem(f"the checkpoint has {len(extra)} tensors the model lacks: {', '.join(extra[:5])}"))
    if problems:
        raise WeightsError(problems[:20], fits=False)


def load_weights(
    module: torch.nn.Module,
    state_dict: MappingABC[str, torch.Tensor],
    source: torch.nn.Module | None = None,
    strict: bool = True,
) -> Mapping:
    """Load ``state_dict`` into ``module`` by structure (see the module docstring).

    ``source`` is a module of the other implementation whose ``state_dict`` layout ``state_dict``
    has (its own values are not used). Without it, ``state_dict`` must use our names (a plain
    strict load). With ``strict`` (the default), tensors of theirs that no layer reads are an error;
    otherwise they are listed in :attr:`Mapping.skipped`.
    """
    if source is None:
        missing, unexpected = _diff_names(module, state_dict)
        if missing or unexpected:
            raise WeightsError(
                [
                    Problem(
                        f"the state_dict does not use the spec's names ({len(missing)} missing, e.g. "
                        f"{', '.join(missing[:3]) or '-'}; {len(unexpected)} unexpected, e.g. "
                        f"{', '.join(unexpected[:3]) or '-'})",
                        None,
                        "pass the module it came from as source= to match by structure",
                    )
                ],
                fits=False,
            )
        module.load_state_dict(dict(state_dict), strict=False)
        return Mapping({k: k for k in state_dict}, 0)
    mapping, ours = map_state_dict(module, source, state_dict)
    if strict:
        real = [k for k in mapping.skipped if k.rsplit(".", 1)[-1] not in OPTIONAL]
        if real:
            raise WeightsError(
                [
                    Problem(
                        f"{len(real)} tensors of the foreign state_dict are used by no layer of its forward "
                        f"and would not be loaded: {', '.join(real[:5])}",
                        None,
                        "pass strict=False to load the rest and list these in Mapping.skipped",
                    )
                ],
                fits=False,
            )
    with torch.no_grad():
        module.load_state_dict(ours, strict=False)
    return mapping


def _diff_names(module: torch.nn.Module, state: MappingABC[str, Any]) -> tuple[list[str], list[str]]:
    own = module.state_dict()
    missing = [k for k in own if k not in state and k.rsplit(".", 1)[-1] not in OPTIONAL]
    unexpected = [k for k in state if k not in own]
    return missing, unexpected


__all__ = ["Layer", "Mapping", "Trace", "load_weights", "map_state_dict", "match", "trace"]
