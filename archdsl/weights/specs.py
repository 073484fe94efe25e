"""The tensors of a graph, in graph order, named as docs/ir.md's weight contract says."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from archdsl.ir import Graph, Node
from archdsl.ops import WeightSpec


@dataclass(frozen=True)
class TensorSpec:
    """One tensor of a graph: its full name (``<node id>.<weight name>``), the op's spec, the node."""

    name: str
    spec: WeightSpec
    node: Node

    @property
    def shape(self) -> tuple[int, ...]:
        return self.spec.shape

    @property
    def learned(self) -> bool:
        return not self.spec.buffer


def tensor_specs(graph: Graph) -> Iterator[TensorSpec]:
    """Every tensor of ``graph`` (parameters and buffers), in node order, then the op's own order."""
    for node in graph.nodes:
        spec = node.spec
        ins = [graph.type_of(i) for i in node.inputs]
        for w in spec.weights(node.args, ins, node.out):
            yield TensorSpec(f"{node.id}.{w.name}", w, node)
