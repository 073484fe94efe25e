"""IR graph → ``torch.fx.GraphModule``: submodules at the spec's paths, a straight-line forward.

The forward is a ``torch.fx.Graph`` made directly from the lowered steps (no tracing) and compiled
by ``GraphModule`` into ordinary Python code: no graph is walked at run time. Submodules sit at their
node's path, so ``state_dict`` keys read like ``stage2.columns.col1.conv_bn_act.0.conv.weight``
(docs/ir.md, weight naming contract); intermediate levels are plain ``nn.Module`` containers.

The IR graph travels with the module in ``module.meta["archdsl_graph"]`` so that the deploy
transforms (:mod:`deploy`) can re-parameterise a trained module.
"""

from __future__ import annotations

import keyword

import torch
import torch.fx
from torch import nn

from archdsl.diagnostics import DiagnosticError
from archdsl.ir import Graph

from .lower import ModuleSpec, Ref, Step, lower, unsupported

GRAPH_KEY = "archdsl_graph"


def var_name(ref: str) -> str:
    """A Python identifier for a node id or input name: dots become underscores."""
    name = ref.replace(".", "_")
    if not name.isidentifier() or keyword.iskeyword(name):
        name = f"v_{name}"
    return name


def class_name(graph: Graph) -> str:
    """``attendnext`` → ``Attendnext``; ``mobilenetv3_large_100`` → ``Mobilenetv3Large100``."""
    name = "".join(part[:1].upper() + part[1:] for part in graph.name.split("_") if part)
    return name if name.isidentifier() and not keyword.iskeyword(name) else f"Net{name}"


def wants_channels_last(graph: Graph) -> bool:
    """Run feature maps in channels_last memory format (faster on CPU; see docs/backends.md)."""
    return len(graph.inputs) == 1 and graph.inputs[0].type.layout == "chw"


def _map_args(value, refs: list[torch.fx.Node]):
    if isinstance(value, Ref):
        return refs[value.index]
    if isinstance(value, list):
        return [_map_args(v, refs) for v in value]
    if isinstance(value, tuple):
        return tuple(_map_args(v, refs) for v in value)
    return value


def materialize(
    graph: Graph, channels_last: bool | None = None, outputs: list[str] | None = None
) -> torch.fx.GraphModule:
    """Build the module for ``graph`` with PyTorch's default initialisation (see :mod:`init`).

    ``outputs`` (node ids) makes the forward return the list of those tensors instead of the
    graph's output (the multi-scale feature modules of :mod:`.features`).

    With ``channels_last`` the forward converts its input to that memory format first; the caller
    converts the weights (after initialising them, so that the initial values do not depend on it).
    """
    diags = unsupported(graph)
    if diags:
        raise DiagnosticError(diags)
    if channels_last is None:
        channels_last = wants_channels_last(graph)
    root = nn.Module()
    fx = torch.fx.Graph()
    env: dict[str, torch.fx.Node] = {}
    for gi in graph.inputs:
        env[gi.name] = fx.placeholder(var_name(gi.name))
    if channels_last:
        (gi,) = graph.inputs
        env[gi.name] = fx.create_node(
            "call_method", "contiguous", (env[gi.name],), {"memory_format": torch.channels_last}, name="x"
        )
    for node, step in lower(graph, outputs=outputs):
        refs = [env[i] for i in node.inputs]
        env[node.id] = _emit(fx, root, node.id, step, refs)
    fx.output(env[graph.output] if outputs is None else [env[o] for o in outputs])
    gm = torch.fx.GraphModule(root, fx, class_name=class_name(graph))
    gm.meta[GRAPH_KEY] = graph
    gm.meta["archdsl_channels_last"] = channels_last
    return gm


def _attach(root: nn.Module, path: str, module: nn.Module) -> None:
    *parents, leaf = path.split(".")
    holder = root
    for seg in parents:
        child = holder._modules.get(seg)
        if child is None:
            child = nn.Module()
            holder.add_module(seg, child)
        holder = child
    holder.add_module(leaf, module)


def _emit(fx: torch.fx.Graph, root: nn.Module, path: str, step: Step, refs: list[torch.fx.Node]) -> torch.fx.Node:
    name = var_name(path)
    args = _map_args(step.args, refs)
    kwargs = {k: _map_args(v, refs) for k, v in step.kwargs.items()}
    if step.kind == "alias":
        return args[0]
    if step.kind == "module":
        assert isinstance(step.target, ModuleSpec)
        _attach(root, path, step.target.make())
        return fx.create_node("call_module", path, args, kwargs, name=name)
    if step.kind == "function":
        return fx.create_node("call_function", step.target, args, kwargs, name=name)
    if step.kind == "method":
        return fx.create_node("call_method", step.target, args, kwargs, name=name)
    if step.kind == "infix":
        acc = args[0]
        for i, other in enumerate(args[1:], 1):
            acc = fx.create_node(
                "call_function", step.target, (acc, other), {}, name=name if i == len(args) - 1 else f"{name}_{i}"
            )
        return acc
    raise ValueError(f"unknown step kind {step.kind!r}")


__all__ = ["GRAPH_KEY", "class_name", "materialize", "var_name"]
