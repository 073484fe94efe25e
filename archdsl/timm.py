"""timm integration: archdsl specs as timm models (``timm.create_model("attendnext", ...)``).

::

    import archdsl.timm, timm
    archdsl.timm.register(["specs/attendnext.arch", "specs/baselines/"])   # files or folders
    model = timm.create_model("attendnext", pretrained=False, num_classes=10, in_chans=1)
    feats = timm.create_model("resnet18_arch", features_only=True, out_indices=(1, 2, 3))

:func:`register` adds one timm entry point per net (timm has no plugin hook for third-party
registries, so registration is explicit; a net whose name timm already has is registered as
``<name>_arch`` unless ``replace=True``). The models are :class:`TimmModel`: the module that
:func:`archdsl.build` makes (same ``state_dict`` names), split at the head into
:meth:`~TimmModel.forward_features` (the last feature map) and :meth:`~TimmModel.forward_head`
(pooling and classifier, ``pre_logits`` as in timm), with ``get_classifier``, ``reset_classifier``,
``num_classes``, ``num_features`` and a ``pretrained_cfg`` (input size, mean/std, interpolation,
crop, ``first_conv``, ``classifier``) that ``timm.data.resolve_data_config`` and timm's transforms
read. ``features_only=True`` gives the feature module of :func:`archdsl.build` (``feature_info``).

Keyword arguments of ``create_model``:

- ``num_classes``: the net's ``classes`` parameter when it has one; otherwise the classifier (the
  last ``linear`` of the head) is replaced as ``reset_classifier`` does. ``0``: no classifier.
- ``in_chans``: the input's channel count (the spec's input shape with other channels).
- ``drop_path_rate``: the net's ``drop_path_rate`` parameter (which its blocks pass to their
  ``drop_path(p = ...)`` ops, stochastic depth as timm's ``DropPath``); a non-zero rate for a net
  without one is an error rather than silently ignored. ``drop_rate`` likewise. Any other net
  parameter (``width``, ``depth``) passes through.
- ``pretrained=True`` is refused: specs carry no weights (load them with
  :func:`archdsl.load_weights` or ``archdsl weights map``).

``pretrained_cfg`` has ImageNet's mean and std, bicubic interpolation and a 0.875 center crop at
the spec's input size; ``meta { interpolation = "bilinear"  crop_pct = 0.95 }`` overrides those two.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
import torch.fx
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_MODULE = __name__


class TimmModel(nn.Module):
    """A spec's module with timm's model interface (see the module docstring)."""

    def __init__(self, graph: Any, module: torch.fx.GraphModule, pretrained_cfg: dict[str, Any]):
        super().__init__()
        from archdsl_backends.torch.build import var_name

        from archdsl.analysis.features import _cuts, _head_start

        self.graph = graph
        for name, child in module.named_children():  # the same submodules: archdsl's state_dict names
            self.add_module(name, child)
        cuts = _cuts(graph)
        start = _head_start(graph, cuts)
        if start == 0 or start >= len(graph.nodes) or not cuts[start - 1]:
            raise ValueError(f"net {graph.name} has no head after a feature map: it cannot be a timm classifier")
        self._last = var_name(graph.nodes[start - 1].id)
        self._head_nodes = {var_name(n.id) for n in graph.nodes[start:]}
        last = graph.nodes[-1]
        self._classifier = last.id if last.op == "linear" else None
        self.num_features = graph.nodes[start - 1].out.c
        self.head_hidden_size = (
            graph.nodes[-2].out.c if self._classifier and len(graph.nodes) > 1 else self.num_features
        )
        self.num_classes = last.out.c if self._classifier else 0
        self.pretrained_cfg = dict(pretrained_cfg)
        self.default_cfg = self.pretrained_cfg
        self._fx = module.graph
        self._compile()

    # -- the two halves, as fx modules sharing our submodules --------------------------------
    def _compile(self) -> None:
        full = self._fx
        body = torch.fx.Graph()
        env: dict[torch.fx.Node, torch.fx.Node] = {}
        for node in full.nodes:
            if node.op == "output" or node.name in self._head_nodes:
                continue
            env[node] = body.node_copy(node, lambda n: env[n])
            if node.name == self._last:
                body.output(env[node])
                break
        head = torch.fx.Graph()
        henv: dict[torch.fx.Node, torch.fx.Node] = {}
        x = head.placeholder("x")
        pre = None
        for node in full.nodes:
            if node.name == self._last:
                henv[node] = x
            elif node.name in self._head_nodes:
                target_is_cls = node.op == "call_module" and node.target == self._classifier
                if target_is_cls:
                    pre = henv[node.args[0]]
                henv[node] = head.node_copy(node, lambda n: henv[n])
            elif node.op == "output":
                head.output((henv[node.args[0]], pre if pre is not None else henv[node.args[0]]))
        holder = {"body": torch.fx.GraphModule(self, body), "head": torch.fx.GraphModule(self, head)}
        object.__setattr__(self, "_parts", holder)  # not submodules: the tensors are ours, registered once

    # -- timm's interface ------------------------------------------------------------------------
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self._parts["body"](x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        logits, pre = self._parts["head"](x)
        return pre if pre_logits else logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        if self._classifier is None:
            return nn.Identity()
        return self.get_submodule(self._classifier)

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        if global_pool not in (None, "", "avg"):
            raise ValueError(f"global_pool={global_pool!r}: the spec's head pools as it is written (avg)")
        if self._classifier is None:
            raise ValueError(f"net {self.graph.name} ends in no linear layer: there is no classifier to reset")
        old = self.get_submodule(self._classifier)
        new: nn.Module = nn.Linear(old.in_features, num_classes) if num_classes > 0 else nn.Identity()
        if num_classes > 0:
            new = new.to(device=old.weight.device, dtype=old.weight.dtype)
        *parents, leaf = self._classifier.split(".")
        holder = self.get_submodule(".".join(parents)) if parents else self
        setattr(holder, leaf, new)
        self.num_classes = num_classes
        self.pretrained_cfg["num_classes"] = num_classes
        self._compile()

    def no_weight_decay(self) -> set[str]:
        return set()

    def __deepcopy__(self, memo):  # timm's EMA copies models: rebuild the halves on the copy
        import copy

        cls = self.__class__
        new = cls.__new__(cls)
        memo[id(self)] = new
        for k, v in self.__dict__.items():
            if k != "_parts":
                new.__dict__[k] = copy.deepcopy(v, memo)
        new._compile()
        return new


def pretrained_cfg(graph: Any, module: torch.fx.GraphModule | None = None) -> dict[str, Any]:
    """timm's ``pretrained_cfg`` for a net: its input size, ImageNet mean/std, bicubic
    interpolation and crop 0.875 unless ``meta`` says otherwise, the first conv and the classifier."""
    shape = tuple(graph.inputs[0].type.shape)
    first_conv = next((n.id for n in graph.nodes if n.op == "conv"), "")
    last = graph.nodes[-1]
    chans = shape[0]
    mean = IMAGENET_MEAN if chans == 3 else (sum(IMAGENET_MEAN) / 3,) * chans
    std = IMAGENET_STD if chans == 3 else (sum(IMAGENET_STD) / 3,) * chans
    return {
        "url": "",
        "hf_hub_id": None,
        "architecture": graph.name,
        "tag": "archdsl",
        "num_classes": last.out.c if last.op == "linear" else 0,
        "input_size": shape,
        "fixed_input_size": True,
        "pool_size": None,
        "interpolation": str(graph.meta.get("interpolation", "bicubic")),
        "crop_pct": float(graph.meta.get("crop_pct", 0.875)),
        "crop_mode": "center",
        "mean": tuple(mean),
        "std": tuple(std),
        "first_conv": first_conv,
        "classifier": last.id if last.op == "linear" else "",
        "license": "",
        "source": graph.file,
    }


_IGNORED = ("pretrained_cfg", "pretrained_cfg_overlay", "cache_dir", "scriptable", "exportable", "no_jit")


def create(spec: str | Path, net: str, pretrained: bool = False, **kwargs: Any) -> nn.Module:
    """What a registered entry point does: build the net for timm's keyword arguments."""
    import archdsl

    if pretrained:
        raise ValueError(
            f"{net}: archdsl specs have no pretrained weights; create with pretrained=False and load a "
            "checkpoint with archdsl.load_weights (or map one with `archdsl weights map`)"
        )
    for key in _IGNORED:
        kwargs.pop(key, None)
    graph0 = archdsl.load(spec, net=net)
    params = dict(graph0.params)
    overrides: dict[str, Any] = {}
    features_only = bool(kwargs.pop("features_only", False))
    out_indices = kwargs.pop("out_indices", None)
    kwargs.pop("feature_cls", None)
    stride = kwargs.pop("output_stride", None)
    if stride not in (None, 32):
        raise ValueError(f"{net}: output_stride={stride}: the spec's strides are as it is written (no dilation)")
    num_classes = kwargs.pop("num_classes", None)
    in_chans = kwargs.pop("in_chans", None)
    dpr = kwargs.pop("drop_path_rate", None)
    if dpr not in (None, 0, 0.0):
        if "drop_path_rate" not in params:
            raise ValueError(
                f"{net}: drop_path_rate={dpr}: the net has no drop_path_rate parameter, so the rate cannot be "
                "applied; write one in the spec and use it in its blocks' drop_path(p = ...) ops, as timm's "
                "models do in their residual branches (or use drop_path_rate=0)"
            )
        overrides["drop_path_rate"] = dpr
    drop_rate = kwargs.pop("drop_rate", None)
    if drop_rate not in (None, 0, 0.0):
        if "drop_rate" not in params:
            raise ValueError(
                f"{net}: drop_rate={drop_rate}: the net has no drop_rate parameter (write one in the spec)"
            )
        overrides["drop_rate"] = drop_rate
    gp = kwargs.pop("global_pool", None)
    if gp not in (None, "", "avg"):
        raise ValueError(f"{net}: global_pool={gp!r}: the spec's head pools as it is written (avg)")
    for key in list(kwargs):
        if key in params:
            overrides[key] = kwargs.pop(key)
    if kwargs:
        raise TypeError(
            f"{net}: unknown keyword arguments {sorted(kwargs)} (net parameters: {sorted(params) or 'none'})"
        )
    reset_to = None
    if num_classes is not None:
        if "classes" in params and num_classes > 0:
            overrides["classes"] = num_classes
        else:
            reset_to = num_classes
    shape = None
    if in_chans is not None:
        shape = (in_chans, *graph0.inputs[0].type.shape[1:])
    if features_only:
        return archdsl.build(spec, net=net, input_shape=shape, features_only=True, out_indices=out_indices, **overrides)
    graph = archdsl.load(spec, net=net, input_shape=shape, **overrides)
    from archdsl_backends.torch.backend import build_module

    module = build_module(graph, channels_last=False)
    model = TimmModel(graph, module, pretrained_cfg(graph))
    if reset_to is not None and reset_to != model.num_classes:
        model.reset_classifier(reset_to)
    return model


def _spec_files(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(p.rglob("*.arch")) if p.is_dir() else [p])
    return out


def register(paths: Iterable[str | Path] | str | Path, replace: bool = False) -> list[str]:
    """Register every net of the spec files (or folders of them) as a timm model; returns the names.

    A net whose name timm already knows is registered as ``<name>_arch`` unless ``replace``.
    """
    import timm
    from timm.models import register_model

    from archdsl.resolve import Resolver, load_program

    if isinstance(paths, (str, Path)):
        paths = [paths]
    names: list[str] = []
    for path in _spec_files(paths):
        prog = load_program(path)
        for net in Resolver(prog).net_names():
            name = net if replace or not timm.is_model(net) or net in _REGISTERED else f"{net}_arch"
            fn = functools.partial(create, str(path.resolve()), net)

            def entry(pretrained: bool = False, _fn=fn, **kwargs: Any) -> nn.Module:
                return _fn(pretrained=pretrained, **kwargs)

            entry.__name__ = name
            entry.__qualname__ = name
            entry.__module__ = _MODULE
            entry.__doc__ = f"archdsl net {net} of {path}"
            if name in _REGISTERED:
                from timm.models._registry import _model_entrypoints

                _model_entrypoints[name] = entry
            else:
                register_model(entry)
            _REGISTERED[name] = str(path)
            names.append(name)
    return names


_REGISTERED: dict[str, str] = {}

__all__ = ["TimmModel", "create", "pretrained_cfg", "register"]
