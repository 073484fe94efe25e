"""The figure's data model: boxes, clusters, edges and the figure that holds them, as
:mod:`.figure` builds them from the IR and :mod:`.dot` writes them (independent of Graphviz)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .options import RenderOptions


@dataclass
class Box:
    id: str
    role: str  # op block repeat stage downsample condense embed expand merge input output external
    title: str
    lines: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    symbol: str | None = None  # merges: + × C
    emphasis: bool = False  # a block or stage that downsamples
    tooltip: str = ""


@dataclass
class Cluster:
    id: str
    role: str  # stage columns column block attention repeat residual shortcut group focus
    title: str
    subtitle: str = ""
    items: list[Box | Cluster] = field(default_factory=list)
    tooltip: str = ""


@dataclass
class Edge:
    tail: str
    head: str
    label: str = ""


@dataclass
class Figure:
    name: str
    items: list[Box | Cluster]
    edges: list[Edge]
    options: RenderOptions
    params: int = 0  # of what is drawn (the focus, or the whole net)
    macs: int = 0
    unit: dict[str, str] = field(default_factory=dict)  # IR node id -> the id of the box that shows it

    def boxes(self):
        stack = list(reversed(self.items))
        while stack:
            it = stack.pop()
            if isinstance(it, Box):
                yield it
            else:
                stack.extend(reversed(it.items))

    def clusters(self):
        stack = list(reversed(self.items))
        while stack:
            it = stack.pop()
            if isinstance(it, Cluster):
                yield it
                stack.extend(reversed(it.items))
