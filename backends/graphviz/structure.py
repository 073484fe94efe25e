"""The structure a figure is drawn from: the IR's scopes as a tree, with the nodes they own.

The IR is a flat, topologically ordered node list plus a list of :class:`~archdsl.ir.Scope`
records (stages, blocks, columns, repeats, residuals) identified by path. Here each node is given
to the deepest scope whose path is a prefix of its id, each scope to the deepest enclosing scope,
and children are ordered by their first node in topological order, so the tree reads in the order
data flows. Repeats are split into iterations (the path segment after the repeat's path), and
consecutive iterations with the same structure form *runs*: what the figure rolls up as "×N".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from archdsl.ir import Graph, Node


@dataclass(eq=False)
class Tree:
    """A scope (or the whole net, ``kind == "net"``, or a repeat iteration, ``kind == "iteration"``)."""

    path: str
    kind: str
    name: str
    args: dict = field(default_factory=dict)
    parent: Tree | None = None
    # children in data-flow order: Tree or a node id (str)
    children: list[Tree | str] = field(default_factory=list)
    first: int = 1 << 60  # topological index of the first node under this scope

    def node_ids(self) -> list[str]:
        out: list[str] = []
        stack: list[Tree | str] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                out.append(item)
            else:
                stack.extend(reversed(item.children))
        return out

    def walk(self):
        yield self
        for c in self.children:
            if isinstance(c, Tree):
                yield from c.walk()


def contains(path: str, node_id: str) -> bool:
    return not path or node_id == path or node_id.startswith(path + ".")


@dataclass
class Structure:
    graph: Graph
    root: Tree
    nodes: dict[str, Node]
    index: dict[str, int]  # node id -> topological position
    owner: dict[str, Tree]  # node id -> deepest scope holding it
    consumers: dict[str, list[str]]
    scopes: dict[str, Tree]  # path -> the outermost scope at that path (real scopes only)
    every: list[Tree]  # all real scopes, outer before inner

    def type_of(self, ref: str):
        n = self.nodes.get(ref)
        if n is not None:
            return n.out
        return self.graph.type_of(ref)

    def external_inputs(self, tree: Tree, ids: list[str] | None = None) -> list[str]:
        """Refs from outside ``tree`` that its nodes read, in order of first use."""
        ids = ids if ids is not None else tree.node_ids()
        inside = set(ids)
        seen: dict[str, None] = {}
        for nid in sorted(ids, key=self.index.__getitem__):
            for src in self.nodes[nid].inputs:
                if src not in inside:
                    seen.setdefault(src, None)
        return list(seen)


# Several scopes share one path when a construct is the single element of another (the stage
# ``stage0 = ds_conv(16)`` and its block; a block whose body is one ``columns``): the one ranked
# first here encloses the others.
NESTING = ("stage", "column", "shortcut", "block", "residual", "repeat", "columns", "group", "iteration")


def build(graph: Graph) -> Structure:
    nodes = graph.node_map()
    index = {n.id: i for i, n in enumerate(graph.nodes)}
    root = Tree(path="", kind="net", name=graph.name)
    chains: dict[str, list[Tree]] = {}  # path -> scopes at that path, outermost first
    for sc in graph.scopes:
        chain = chains.setdefault(sc.path, [])
        if any(t.kind == sc.kind for t in chain):  # recorded twice: keep the first
            continue
        chain.append(Tree(path=sc.path, kind=sc.kind, name=sc.name, args=dict(sc.args)))
    rank = {k: i for i, k in enumerate(NESTING)}
    for chain in chains.values():
        chain.sort(key=lambda t: rank.get(t.kind, len(NESTING)))

    def deepest(path: str, proper: bool) -> Tree:
        """The innermost scope at the longest prefix of ``path`` (a proper prefix if asked)."""
        segs = path.split(".")
        stop = len(segs) - 1 if proper else len(segs)
        for i in range(stop, 0, -1):
            chain = chains.get(".".join(segs[:i]))
            if chain:
                return chain[-1]
        return root

    every: list[Tree] = []
    for path in sorted(chains, key=lambda p: (p.count("."), p)):
        chain = chains[path]
        chain[0].parent = deepest(path, proper=True)
        for outer, inner in pairwise(chain):
            inner.parent = outer
        every.extend(chain)

    owner: dict[str, Tree] = {}
    for n in graph.nodes:
        t = deepest(n.id, proper=False)
        owner[n.id] = t
        i = index[n.id]
        u: Tree | None = t
        while u is not None and u.first > i:
            u.first = i
            u = u.parent

    # children: scopes (that hold nodes) and nodes, by first topological index
    for t in every:
        if t.first < (1 << 60) and t.parent is not None:
            t.parent.children.append(t)
    for n in graph.nodes:
        owner[n.id].children.append(n.id)

    def key(c: Tree | str) -> int:
        return index[c] if isinstance(c, str) else c.first

    for t in [root, *every]:
        t.children.sort(key=key)
    for t in every:
        if t.kind == "repeat":
            _split_iterations(t, owner, index)
    scopes = {path: chain[0] for path, chain in chains.items()}
    return Structure(graph, root, nodes, index, owner, graph.consumers(), scopes, every)


def _split_iterations(rep: Tree, owner: dict[str, Tree], index: dict[str, int]) -> None:
    """Give a repeat one child per iteration: the iteration's block scope, or a synthetic group."""
    groups: dict[str, list[Tree | str]] = {}
    order: list[str] = []
    cut = len(rep.path) + 1 if rep.path else 0
    for c in rep.children:
        path = c if isinstance(c, str) else c.path
        seg = path[cut:].split(".", 1)[0]
        if seg not in groups:
            groups[seg] = []
            order.append(seg)
        groups[seg].append(c)
    new: list[Tree | str] = []
    for seg in order:
        members = groups[seg]
        ipath = f"{rep.path}.{seg}" if rep.path else seg
        if len(members) == 1 and isinstance(members[0], Tree) and members[0].path == ipath:
            new.append(members[0])
            continue
        it = Tree(path=ipath, kind="iteration", name=seg, parent=rep, children=members)
        it.first = min(index[m] if isinstance(m, str) else m.first for m in members)
        for m in members:
            if isinstance(m, str):
                owner[m] = it
            else:
                m.parent = it
        new.append(it)
    rep.children = new


def signature(s: Structure, it: Tree | str) -> tuple:
    """What makes two repeat iterations 'identical' for the ×N roll-up.

    The ops (with their arguments and output shapes) and scopes under the iteration, by path
    relative to it, and how they are wired inside it; reads from outside count as one input. The
    input's channel count is ignored, so ``conv_bn_act(10) * 2`` rolls up although its first
    iteration reads a different width.
    """
    if isinstance(it, str):
        n = s.nodes[it]
        return ("op", n.op, n.args.model_dump_json(), n.out.model_dump_json())
    base = it.path
    cut = len(base) + 1

    def rel(p: str) -> str:
        return "" if p == base else p[cut:]

    ids = it.node_ids()
    inside = set(ids)
    name = "" if it.kind == "iteration" else it.name  # an iteration's name is its index
    parts: list[tuple] = [("scope", it.kind, name, tuple(sorted((k, repr(v)) for k, v in it.args.items())))]
    for t in it.walk():
        if t is not it and t.kind != "iteration":
            parts.append(("scope", rel(t.path), t.kind, t.name, tuple(sorted((k, repr(v)) for k, v in t.args.items()))))
    for nid in sorted(ids, key=s.index.__getitem__):
        n = s.nodes[nid]
        ins = tuple(rel(x) if x in inside else "<in>" for x in n.inputs)
        parts.append(("op", rel(nid), n.op, n.args.model_dump_json(), n.out.model_dump_json(), ins))
    return tuple(parts)


def runs(s: Structure, rep: Tree) -> list[list[Tree | str]]:
    """Consecutive iterations of a repeat with equal :func:`signature`, in order."""
    out: list[list[Tree | str]] = []
    last = None
    for it in rep.children:
        sig = signature(s, it)
        if out and sig == last:
            out[-1].append(it)
        else:
            out.append([it])
            last = sig
    return out
