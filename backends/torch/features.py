"""Multi-scale feature modules: the net cut after its last chosen feature, returning the features.

``build_features`` is what ``archdsl.build(spec, features=[...])`` and ``features_only=True``
return: a ``torch.fx.GraphModule`` for :func:`archdsl.analysis.features.features_graph` (the head
and whatever no feature reads dropped) whose forward returns the list of feature tensors, in the
order asked for, as timm's ``features_only`` models do. Its ``feature_info`` is an
:class:`archdsl.analysis.features.FeatureInfo`. Weights are initialised per tensor name and seed
(:mod:`archdsl.weights`), so a feature module and the full module built with the same seed hold the
same numbers, and a full module's ``state_dict`` loads into it with ``strict=False`` (the head's
tensors are the only extra ones).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

from archdsl.analysis.features import FeatureInfo, features_graph, select
from archdsl.ir import Graph

from . import weights
from .build import GRAPH_KEY, materialize, wants_channels_last

FEATURES_KEY = "archdsl_features"


def build_features(
    graph: Graph,
    features: Iterable[str] | str | None = None,
    out_indices: Sequence[int] | None = None,
    seed: int = 0,
    channels_last: bool | None = None,
) -> torch.fx.GraphModule:
    """The feature module of ``graph`` (raises :class:`~archdsl.analysis.features.FeatureError`)."""
    info = select(graph, features, out_indices)
    return module_for(graph, info, seed=seed, channels_last=channels_last)


def module_for(
    graph: Graph, info: FeatureInfo, seed: int = 0, channels_last: bool | None = None
) -> torch.fx.GraphModule:
    sub = features_graph(graph, info)
    if channels_last is None:
        channels_last = wants_channels_last(sub)
    module = materialize(sub, channels_last=channels_last, outputs=[f.node for f in info.features])
    weights.initialise(module, sub, seed)
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
    module.feature_info = info
    module.meta[GRAPH_KEY] = sub
    module.meta[FEATURES_KEY] = info
    return module


__all__ = ["FEATURES_KEY", "build_features", "module_for"]
