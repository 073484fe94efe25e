"""Multi-scale features: which intermediate tensors of a net a detection or segmentation neck reads.

A *feature* is the output of one IR node, named by the stage it ends (``stage2``) or by its node
path (``stem.2``) when it ends no stage. :func:`pyramid` is the default feature pyramid, the one
``features_only=True`` returns (as timm's ``features_only`` models do): for every reduction (input
size / feature size) the last tensor at that reduction that the rest of the net reads alone (a
*cut*: no later op reads anything computed before it), stopping before the head (the stage that
pools globally, and everything after it). :func:`select` picks features by name or by index into
the pyramid; :func:`features_graph` is the graph cut down to what the features need (the head and
anything else no feature reads dropped), which the backends build.

:class:`FeatureInfo` describes the chosen features like timm's ``FeatureInfo``
(``channels()``, ``reduction()``, ``module_name()``, ``get_dicts()``), so code written against
timm's feature extractors reads it unchanged. Pure IR: no torch here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from archdsl.ir import Graph, Node


class FeatureError(ValueError):
    """A feature request the net cannot satisfy; ``help`` says what would work."""

    def __init__(self, message: str, help: str | None = None):
        super().__init__(message)
        self.message = message
        self.help = help


@dataclass(frozen=True)
class Feature:
    """One feature: its name, the IR node whose output it is, and that tensor's geometry."""

    name: str
    node: str
    channels: int
    reduction: int
    shape: tuple[int, ...]
    stage: str

    def as_dict(self) -> dict:
        """timm's feature-info dictionary keys (``num_chs``, ``reduction``, ``module``), plus ours."""
        return {
            "num_chs": self.channels,
            "reduction": self.reduction,
            "module": self.name,
            "node": self.node,
            "stage": self.stage,
            "shape": list(self.shape),
        }


class FeatureInfo:
    """The chosen features, with timm's ``FeatureInfo`` accessors (``idx``: one index, a list, or all)."""

    def __init__(self, features: Sequence[Feature], out_indices: Sequence[int] | None = None):
        self.features = list(features)
        self.out_indices = tuple(out_indices) if out_indices is not None else tuple(range(len(self.features)))

    def _get(self, attr: str, idx: int | Sequence[int] | None):
        if idx is None:
            return [getattr(f, attr) for f in self.features]
        if isinstance(idx, int):
            return getattr(self.features[idx], attr)
        return [getattr(self.features[i], attr) for i in idx]

    def channels(self, idx: int | Sequence[int] | None = None):
        return self._get("channels", idx)

    def reduction(self, idx: int | Sequence[int] | None = None):
        return self._get("reduction", idx)

    def module_name(self, idx: int | Sequence[int] | None = None):
        return self._get("name", idx)

    def get(self, key: str, idx: int | Sequence[int] | None = None):
        attr = {"num_chs": "channels", "module": "name"}.get(key, key)
        return self._get(attr, idx)

    def get_dicts(self, keys: Sequence[str] | None = None, idx: int | Sequence[int] | None = None):
        items = self.features if idx is None else [self.features[i] for i in ([idx] if isinstance(idx, int) else idx)]
        dicts = [f.as_dict() for f in items]
        if keys is not None:
            dicts = [{k: d[k] for k in keys} for d in dicts]
        return dicts[0] if isinstance(idx, int) else dicts

    def __getitem__(self, i: int) -> dict:
        return self.features[i].as_dict()

    def __len__(self) -> int:
        return len(self.features)

    def __iter__(self):
        return iter(self.get_dicts())

    def __repr__(self) -> str:
        return f"FeatureInfo({', '.join(f'{f.name}: {f.channels}@/{f.reduction}' for f in self.features)})"


# ---- geometry -----------------------------------------------------------------------------------


def _image(graph: Graph):
    if len(graph.inputs) != 1 or graph.inputs[0].type.layout != "chw":
        raise FeatureError(
            f"net {graph.name} does not take one image input: it has no feature pyramid",
            "features are defined for nets with one [C, H, W] input",
        )
    return graph.inputs[0].type


def _reduction(graph: Graph, node: Node) -> int | None:
    t = node.out
    if t.layout != "chw" or t.h <= 0:
        return None
    h = _image(graph).h
    return max(1, round(h / t.h))


def _stage_of(node_id: str) -> str:
    return node_id.split(".", 1)[0]


def _stage_ends(graph: Graph) -> dict[str, str]:
    """node id → the stage it ends (the last node of each top-level statement)."""
    last: dict[str, str] = {}
    for n in graph.nodes:
        last[_stage_of(n.id)] = n.id
    return {nid: stage for stage, nid in last.items()}


def _cuts(graph: Graph) -> list[bool]:
    """``cuts[i]``: nothing after node i reads a tensor made before it (node i hands on everything)."""
    pos = {i.name: -1 for i in graph.inputs}
    pos.update((n.id, k) for k, n in enumerate(graph.nodes))
    last_use = dict.fromkeys(pos, -1)
    for k, n in enumerate(graph.nodes):
        for ref in n.inputs:
            last_use[ref] = max(last_use[ref], k)
    out = []
    reach = max((last_use[i.name] for i in graph.inputs), default=-1)  # how far tensors made before k are read
    for k, n in enumerate(graph.nodes):
        out.append(reach <= k)
        reach = max(reach, last_use[n.id])
    return out


def _head_start(graph: Graph, cuts: list[bool]) -> int:
    """Index of the first node of the head: the stage of the first global pooling that the rest of
    the net reads alone (a squeeze-excite's pooling is not one)."""
    for k, n in enumerate(graph.nodes):
        t = n.out
        pooled = t.layout == "vec" or (t.layout == "chw" and t.h == 1 and t.w == 1 and _image(graph).h > 1)
        if pooled and cuts[k]:
            stage = _stage_of(n.id)
            first = next(j for j, m in enumerate(graph.nodes) if _stage_of(m.id) == stage)
            return first
    return len(graph.nodes)


def _feature(graph: Graph, node: Node, name: str | None = None) -> Feature:
    red = _reduction(graph, node)
    if red is None:
        raise FeatureError(
            f"'{name or node.id}' is not a feature map ({node.out}): only [C, H, W] tensors are features",
            "choose a stage before the head (`archdsl show --features` lists the pyramid)",
        )
    ends = _stage_ends(graph)
    return Feature(
        name=name or ends.get(node.id, node.id),
        node=node.id,
        channels=node.out.c,
        reduction=red,
        shape=tuple(node.out.shape),
        stage=_stage_of(node.id),
    )


def _boundaries(graph: Graph) -> set[str]:
    """Nodes that end a stage, a block instance or a repeat, or that are ops written directly in a
    stage's chain (``stem = conv -> bn -> relu -> maxpool``): where a block's output is, never
    inside one (an inverted residual's expansion is a cut, but no feature)."""
    ends: dict[str, str] = {}
    blocks: list[str] = []
    for sc in graph.scopes:
        if sc.kind in ("stage", "block", "repeat"):
            ends[sc.path] = ""
        if sc.kind == "block":
            blocks.append(sc.path)
    block_paths = set(blocks)
    out: set[str] = set()
    for n in graph.nodes:
        segs = n.id.split(".")
        for d in range(1, len(segs)):
            prefix = ".".join(segs[:d])
            if prefix in ends:
                ends[prefix] = n.id
        stage = segs[0]
        inner = [".".join(segs[:d]) for d in range(1, len(segs)) if ".".join(segs[:d]) in block_paths]
        if len(segs) == 2 and not inner and stage not in block_paths:
            out.add(n.id)
    out.update(v for v in ends.values() if v)
    return out


def pyramid(graph: Graph) -> list[Feature]:
    """The default features: per reduction, the last cut before the head that ends a stage, a
    block or a stage-level op, in graph order."""
    _image(graph)
    cuts = _cuts(graph)
    stop = _head_start(graph, cuts)
    bounds = _boundaries(graph)
    best: dict[int, int] = {}
    for k, n in enumerate(graph.nodes[:stop]):
        red = _reduction(graph, n)
        if red is not None and cuts[k] and n.id in bounds:
            best[red] = k
    return [_feature(graph, graph.nodes[k]) for k in sorted(best.values())]


def _by_name(graph: Graph, name: str) -> Node:
    nodes = graph.node_map()
    if name in nodes:
        return nodes[name]
    last = None
    for n in graph.nodes:  # a stage or any scope path: its last node
        if n.id.startswith(name + "."):
            last = n
    if last is None:
        from archdsl.diagnostics import did_you_mean

        hint = did_you_mean(name, set(graph.stages) | {f.name for f in pyramid_or_empty(graph)})
        raise FeatureError(
            f"net {graph.name} has no stage or node '{name}'",
            hint or f"the stages are: {', '.join(graph.stages)}",
        )
    return last


def pyramid_or_empty(graph: Graph) -> list[Feature]:
    try:
        return pyramid(graph)
    except FeatureError:
        return []


def select(
    graph: Graph,
    features: Iterable[str] | str | None = None,
    out_indices: Sequence[int] | None = None,
) -> FeatureInfo:
    """The features asked for: names (stages or node paths), or indices into :func:`pyramid`
    (timm's ``out_indices``, negative ones count from the end), or the whole pyramid."""
    if isinstance(features, str):
        features = [s.strip() for s in features.split(",") if s.strip()]
    if features is not None and out_indices is not None:
        raise FeatureError("give feature names or out_indices, not both")
    if features is not None:
        chosen = [_feature(graph, _by_name(graph, name), name) for name in features]
        if not chosen:
            raise FeatureError("no features asked for", "name at least one stage, e.g. features=stage2,stage3")
        indices = None
    else:
        levels = pyramid(graph)
        if not levels:
            raise FeatureError(f"net {graph.name} has no feature maps before its head")
        if out_indices is None:
            return FeatureInfo(levels)
        indices = []
        for i in out_indices:
            if not -len(levels) <= i < len(levels):
                raise FeatureError(
                    f"out_indices {tuple(out_indices)}: {i} is out of range: net {graph.name} has "
                    f"{len(levels)} feature levels (0 to {len(levels) - 1})",
                    "levels: " + ", ".join(f"{k} = {f.name} (/{f.reduction})" for k, f in enumerate(levels)),
                )
            indices.append(i % len(levels))
        chosen = [levels[i] for i in indices]
    seen: set[str] = set()
    for f in chosen:
        if f.node in seen:
            raise FeatureError(f"feature '{f.name}' is asked for twice", "name each feature once")
        seen.add(f.node)
    return FeatureInfo(chosen, indices)


def features_graph(graph: Graph, info: FeatureInfo) -> Graph:
    """``graph`` with only the nodes the features need; its output is the feature computed last."""
    nodes = graph.node_map()
    need: set[str] = set()
    stack = [f.node for f in info.features]
    while stack:
        ref = stack.pop()
        if ref in need or ref not in nodes:
            continue
        need.add(ref)
        stack.extend(nodes[ref].inputs)
    kept = tuple(n for n in graph.nodes if n.id in need)
    last = max((f.node for f in info.features), key=lambda nid: kept.index(nodes[nid]))
    fields = {name: getattr(graph, name) for name in Graph.model_fields}
    prefixes = {n.id.split(".", 1)[0] for n in kept}
    fields.update(
        nodes=kept,
        output=last,
        scopes=tuple(s for s in graph.scopes if s.path.split(".", 1)[0] in prefixes),
        stages=tuple(s for s in graph.stages if s in prefixes),
    )
    return Graph(**fields)


__all__ = ["Feature", "FeatureError", "FeatureInfo", "features_graph", "pyramid", "select"]
