"""The IR: the typed, validated graph every analysis and backend reads.

A :class:`Graph` is a flat list of :class:`Node` in topological order. Each node has a
hierarchical ``path`` (``stage2.col1.dcac.attn.embed.conv``) that is also its id, the op's
validated arguments (a discriminated union over the op registry, so JSON round-trips), the ids of
its inputs, its output :class:`~archdsl.ops.TensorType`, its parameter and MAC counts and the
source span of the call that made it. :class:`Scope` records the structure the text had (stages,
block instances, columns, repeats) so renderers can draw it. Backends never look at the AST.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from archdsl.diagnostics import Span
from archdsl.ops import OPS, TensorType

IR_VERSION = 1

NodeArgs = Annotated[Union[tuple(spec.args for spec in OPS.values())], Field(discriminator="op")]  # noqa: UP007

Scalar = Union[int, float, bool, str, None]  # noqa: UP007

ScopeKind = Literal["stage", "block", "columns", "column", "residual", "shortcut", "repeat"]


class Node(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(description="hierarchical path, unique in the graph, e.g. 'stage2.col1.dcac.attn.embed.conv'")
    op: str = Field(description="primitive op name, a key of the op registry")
    args: NodeArgs
    inputs: tuple[str, ...] = Field(description="ids of the input nodes or graph inputs")
    out: TensorType
    params: int = Field(ge=0)
    macs: int = Field(ge=0)
    span: Span | None = None

    @property
    def path(self) -> str:
        return self.id

    @property
    def spec(self):
        return OPS[self.op]


_NODE_FIELDS = ("id", "op", "args", "inputs", "out", "params", "macs", "span")
_set = object.__setattr__


def trusted_node(
    id: str, op: str, args: Any, inputs: tuple[str, ...], out: TensorType, params: int, macs: int, span: Span | None
) -> Node:
    """``Node.model_construct(...)`` with every field given: the resolver's hot path (one per op),
    for values the resolver has validated already. What ``model_construct`` does for a model
    without aliases, extras, private attributes or post-init, without its generic loop over the
    fields (a tenth of resolving); the same object (``tests/test_parser_fast.py`` compares them)."""
    m = Node.__new__(Node)
    _set(m, "__dict__", {"id": id, "op": op, "args": args, "inputs": inputs, "out": out, "params": params,
                         "macs": macs, "span": span})  # fmt: skip
    _set(m, "__pydantic_fields_set__", set(_NODE_FIELDS))
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None)
    return m


class Scope(BaseModel):
    """A structural region of the graph: every node whose id starts with ``path + '.'`` (or equals it)."""

    model_config = ConfigDict(frozen=True)

    path: str
    kind: ScopeKind
    name: str = Field(description="block name for blocks, statement name for stages, label for columns")
    args: dict[str, Scalar] = Field(default_factory=dict)
    span: Span | None = None


class GraphInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    type: TensorType
    span: Span | None = None


class Graph(BaseModel):
    model_config = ConfigDict(frozen=True)

    ir_version: int = IR_VERSION
    name: str
    file: str
    params: dict[str, Scalar] = Field(default_factory=dict, description="net parameter values used")
    inputs: tuple[GraphInput, ...]
    nodes: tuple[Node, ...]
    output: str
    meta: dict[str, Scalar] = Field(default_factory=dict)
    scopes: tuple[Scope, ...] = ()
    stages: tuple[str, ...] = Field(default=(), description="names of the net's top-level statements, in order")
    source_hash: str = Field(default="", description="sha256 over the source texts the graph came from")

    def node_map(self) -> dict[str, Node]:
        return self._node_map

    @property
    def _node_map(self) -> dict[str, Node]:
        # Cached beside the fields, and tied to the very tuple of nodes it was built from, so a
        # model_copy(update={"nodes": ...}) never sees a stale map.
        cached = self.__dict__.get("_node_map_cache")
        if cached is None or cached[0] is not self.nodes:
            cached = (self.nodes, {n.id: n for n in self.nodes})
            self.__dict__["_node_map_cache"] = cached
        return cached[1]

    def type_of(self, ref: str) -> TensorType:
        for i in self.inputs:
            if i.name == ref:
                return i.type
        return self._node_map[ref].out

    @property
    def output_type(self) -> TensorType:
        return self.type_of(self.output)

    @property
    def total_params(self) -> int:
        return sum(n.params for n in self.nodes)

    @property
    def total_macs(self) -> int:
        return sum(n.macs for n in self.nodes)

    def consumers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {n.id: [] for n in self.nodes}
        for i in self.inputs:
            out[i.name] = []
        for n in self.nodes:
            for src in n.inputs:
                out[src].append(n.id)
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=indent, sort_keys=False)


# trusted_node stands for model_construct only while Node is the plain model it was written for
if (
    tuple(Node.model_fields) != _NODE_FIELDS
    or Node.__pydantic_post_init__
    or Node.__private_attributes__
    or Node.model_config.get("extra") == "allow"
):  # pragma: no cover

    def trusted_node(id, op, args, inputs, out, params, macs, span):
        return Node.model_construct(
            id=id, op=op, args=args, inputs=inputs, out=out, params=params, macs=macs, span=span
        )


def ir_json_schema() -> dict[str, Any]:
    return Graph.model_json_schema()
