"""What a rule sees of one spec file: its text, AST, IR graphs, and helpers to place findings.

Node spans point where the op was written, which for a block of the standard library (or of an
imported file) is inside that library. A finding belongs in the file being linted, so
:meth:`LintContext.locate` walks up the node's path to the innermost scope whose span is in this
file (the call of the block), and says in a note where the op itself was written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archdsl.diagnostics import SourceMap, Span
from archdsl.ir import Graph, Node, Scope
from archdsl.ops import TensorType
from archdsl.syntax import ast

if TYPE_CHECKING:
    from archdsl.resolve import Program
    from archdsl.rules.base import RuleOptions


_NESTING = {"stage": 2, "repeat": 1}


@dataclass
class GraphIndex:
    """Per-graph lookups, computed once and shared by the rules."""

    graph: Graph
    nodes: dict[str, Node] = field(init=False)
    consumers: dict[str, list[str]] = field(init=False)
    scopes: dict[str, list[Scope]] = field(init=False)
    _memo: dict[str, Any] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.nodes = self.graph.node_map()
        self.consumers = self.graph.consumers()
        self.scopes = {}
        for s in self.graph.scopes:
            self.scopes.setdefault(s.path, []).append(s)
        for same in self.scopes.values():  # at one path: the call (block, columns ...) inside a repeat inside a stage
            same.sort(key=lambda s: _NESTING.get(s.kind, 0))

    def memo(self, key: str, build: Callable[[], Any]) -> Any:
        """A rule's own index of this graph, built on first use and shared by later calls."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]

    def in_type(self, node: Node, i: int = 0) -> TensorType:
        ref = node.inputs[i]
        n = self.nodes.get(ref)
        return n.out if n is not None else self.graph.type_of(ref)

    def producer(self, node: Node, i: int = 0) -> Node | None:
        return self.nodes.get(node.inputs[i]) if node.inputs else None

    def next_nodes(self, node: Node) -> list[Node]:
        return [self.nodes[c] for c in self.consumers.get(node.id, [])]

    @functools.cached_property
    def live(self) -> set[str]:
        """Ids of the nodes whose result reaches the output."""
        seen: set[str] = set()
        stack = [self.graph.output]
        while stack:
            nid = stack.pop()
            if nid in seen or nid not in self.nodes:
                continue
            seen.add(nid)
            stack.extend(self.nodes[nid].inputs)
        return seen

    def enclosing(self, path: str) -> Iterator[Scope]:
        """Scopes that contain ``path``, innermost first."""
        segs = path.split(".")
        for i in range(len(segs), 0, -1):
            yield from self.scopes.get(".".join(segs[:i]), ())


@dataclass
class LintContext:
    file: str
    text: str
    program: Program
    graphs: dict[str, Graph]
    sources: SourceMap
    options: dict[str, RuleOptions] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # e.g. the config root, for relative paths
    _index: dict[str, GraphIndex] = field(default_factory=dict, repr=False)
    _meta: dict[int, tuple[ast.NetDef, dict[str, ast.MetaEntry]]] = field(default_factory=dict, repr=False)
    _children: dict[str, list[ast.NetDef]] | None = field(default=None, repr=False)
    _meta_of: dict[str, dict[str, ast.MetaEntry | None]] = field(default_factory=dict, repr=False)
    _top: dict[str, str] = field(default_factory=dict, repr=False)

    def index(self, graph: Graph) -> GraphIndex:
        if graph.name not in self._index:
            self._index[graph.name] = GraphIndex(graph)
        return self._index[graph.name]

    # ---- placing findings ---------------------------------------------------------------
    def in_file(self, span: Span | None) -> bool:
        return span is not None and span.file == self.file and span.line > 0

    def locate(self, graph: Graph, path: str, span: Span | None = None) -> tuple[Span | None, tuple[str, ...]]:
        """A span in this file for the node or scope at ``path``, and notes that say where it is.

        The node's own span if it is in this file; else the innermost enclosing scope (a block
        call, a repeat, a stage) that is; else, for a net that extends a net of another file, the
        net's name in this file.
        """
        idx = self.index(graph)
        node = idx.nodes.get(path)
        own = span if span is not None else (node.span if node is not None else None)
        what = f"'{node.op}'" if node is not None else f"'{path}'"
        if self.in_file(own):
            return own, ()
        blocks: list[str] = []
        used_at: Span | None = None
        for scope in idx.enclosing(path):
            if scope.kind == "block":
                blocks.append(scope.name)
            if self.in_file(scope.span):
                return scope.span, (self._written(what, own, blocks),)
            if used_at is None and scope.span is not None and not scope.span.file.startswith("<"):
                used_at = scope.span
        net = self.net_span(graph.name)
        if self.in_file(net):
            note = self._written(what, own, blocks)
            if used_at is not None and used_at != own:
                note += f", used at {used_at}"
            return net, (note,)
        return own, ()

    @staticmethod
    def _written(what: str, own: Span | None, blocks: list[str]) -> str:
        note = f"{what} is written at {own}" if own is not None else f"{what} comes from here"
        if blocks:
            note += " in block " + " → ".join(f"'{b}'" for b in reversed(blocks))
        return note

    def name_span(self, span: Span, name: str) -> Span:
        """The first ``len(name)`` characters of ``span`` (a statement's span starts at its name)."""
        return Span(span.file, span.line, span.col, span.line, span.col + len(name))

    # ---- the AST ------------------------------------------------------------------------
    def net_def(self, name: str) -> ast.NetDef | None:
        return self.program.nets.get(name)

    def net_chain(self, name: str) -> list[ast.NetDef]:
        """The net and the nets it extends, nearest first."""
        out: list[ast.NetDef] = []
        seen: set[int] = set()
        cur = self.program.nets.get(name)
        while cur is not None and id(cur) not in seen:
            out.append(cur)
            seen.add(id(cur))
            cur = self.program.nets.get(cur.extends.name) if cur.extends else None
        return out

    def meta_entry(self, net: str, key: str) -> ast.MetaEntry | None:
        """The ``meta`` entry that gave ``key`` its value (the nearest net that sets it).

        Remembered for every net on the way, so asking for each net of a long ``extends`` chain
        walks the chain once, not once per net.
        """
        memo = self._meta_of.setdefault(key, {})
        walked: list[str] = []
        found: ast.MetaEntry | None = None
        seen: set[str] = set()
        name: str | None = net
        while name is not None and name not in seen:
            if name in memo:
                found = memo[name]
                break
            ndef = self.program.nets.get(name)
            if ndef is None:
                break
            seen.add(name)
            walked.append(name)
            found = self._own_meta(ndef).get(key)
            if found is not None:
                break
            name = ndef.extends.name if ndef.extends else None
        for w in walked:
            memo[w] = found
        return found

    def family_key(self, name: str) -> str:
        """The net at the top of ``name``'s ``extends`` chain: nets with one top form one family."""
        walked: list[str] = []
        seen: set[str] = set()
        cur = name
        while cur not in self._top:
            ndef = self.program.nets.get(cur)
            if ndef is None or ndef.extends is None or cur in seen or ndef.extends.name not in self.program.nets:
                self._top[cur] = cur
                break
            seen.add(cur)
            walked.append(cur)
            cur = ndef.extends.name
        top = self._top[cur]
        for w in walked:
            self._top[w] = top
        return top

    def _own_meta(self, ndef: ast.NetDef) -> dict[str, ast.MetaEntry]:
        """The last entry of each key in the net's own ``meta`` blocks (computed once per net)."""
        got = self._meta.get(id(ndef))
        if got is None or got[0] is not ndef:
            entries: dict[str, ast.MetaEntry] = {}
            for stmt in ndef.body:
                if isinstance(stmt, ast.MetaStmt):
                    for entry in stmt.entries:
                        entries[entry.key] = entry
            got = self._meta[id(ndef)] = (ndef, entries)
        return got[1]

    def extended_by(self, name: str) -> list[ast.NetDef]:
        """The nets whose ``extends`` names ``name`` (an index built once per file)."""
        if self._children is None:
            self._children = {}
            for n in self.program.nets.values():
                if n.extends is not None:
                    self._children.setdefault(n.extends.name, []).append(n)
        return self._children.get(name, [])

    def net_span(self, net: str) -> Span | None:
        ndef = self.net_def(net)
        return ndef.name_span if ndef is not None else None
