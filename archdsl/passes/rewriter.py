"""The mutable graph every pass edits: nodes in order, their types and consumers, and the weights.

A pass never builds a :class:`~archdsl.ir.Graph` by hand: it edits a :class:`Rewriter` (remove a
node, let its consumers read another tensor, put a new node where an old one was) and the
rewriter gives back a valid Graph with every parameter and MAC count recomputed from the op
registry. Consumers are kept up to date on every edit, so a pass over n nodes costs O(n), not O(n²).

Weights are a ``name → numpy array`` dict under the contract names of docs/ir.md (``ID.weight``,
``ID.running_var`` ...), or ``None`` in weight-less mode (the cost model): then only the structure
changes.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from archdsl.ir import Graph, Node
from archdsl.ops import OPS, TensorType

Weights = dict[str, Any] | None
OUTPUT = "<output>"


class Rewriter:
    def __init__(self, graph: Graph, weights: Weights = None) -> None:
        self.graph = graph
        self.nodes: dict[str, Node] = {n.id: n for n in graph.nodes}
        self.output = graph.output
        self.weights: Weights = dict(weights) if weights is not None else None
        self.types: dict[str, TensorType] = {i.name: i.type for i in graph.inputs}
        self.types.update((n.id, n.out) for n in graph.nodes)
        self.users: dict[str, list[str]] = {ref: [] for ref in self.types}
        for n in graph.nodes:
            for ref in n.inputs:
                self.users[ref].append(n.id)
        self.users[self.output].append(OUTPUT)
        self.stats: Counter = Counter()

    # ---- questions ----------------------------------------------------------------------------
    def node(self, ref: str) -> Node | None:
        return self.nodes.get(ref)

    def only_user(self, ref: str) -> str | None:
        """The one consumer of ``ref`` (a node id, or ``<output>``), or None when it has several."""
        users = self.users.get(ref, [])
        return users[0] if len(users) == 1 else None

    def in_types(self, node: Node) -> list[TensorType]:
        return [self.types[r] for r in node.inputs]

    @property
    def has_weights(self) -> bool:
        return self.weights is not None

    def tensor(self, name: str):
        assert self.weights is not None
        return self.weights[name]

    # ---- edits --------------------------------------------------------------------------------
    def redirect(self, old: str, new: str) -> None:
        """Every consumer of ``old`` reads ``new`` instead."""
        for uid in self.users.pop(old, []):
            if uid == OUTPUT:
                self.output = new
            else:
                n = self.nodes[uid]
                self.nodes[uid] = n.model_copy(update={"inputs": tuple(new if r == old else r for r in n.inputs)})
            self.users.setdefault(new, []).append(uid)
        self.users.setdefault(old, [])

    def remove(self, nid: str) -> None:
        """Drop node ``nid`` (nothing may read it any more) and its weights."""
        node = self.nodes.pop(nid)
        for ref in node.inputs:
            users = self.users.get(ref)
            if users is not None and nid in users:
                users.remove(nid)
        self.users.pop(nid, None)
        self.types.pop(nid, None)
        if self.weights is not None:
            for key in [k for k in self.weights if k.startswith(nid + ".")]:
                del self.weights[key]

    def replace(self, old: str, node: Node) -> None:
        """Put ``node`` where ``old`` was in the order (same inputs wiring is up to the caller)."""
        prev = self.nodes[old]
        items = [(node.id, node) if k == old else (k, v) for k, v in self.nodes.items()]
        self.nodes = dict(items)
        for ref in prev.inputs:
            if old in self.users.get(ref, []):
                self.users[ref].remove(old)
        for ref in node.inputs:
            self.users.setdefault(ref, []).append(node.id)
        self.types[node.id] = node.out
        if node.id != old:
            self.users.setdefault(node.id, [])
            self.redirect(old, node.id)
            self.types.pop(old, None)
            self.users.pop(old, None)

    def insert_after(self, anchor: str, node: Node) -> None:
        """Put the new ``node`` right after ``anchor`` in the order; ``anchor``'s consumers read it."""
        users = self.users.get(anchor, [])
        self.users[anchor] = []
        items: list[tuple[str, Node]] = []
        for k, v in self.nodes.items():
            items.append((k, v))
            if k == anchor:
                items.append((node.id, node))
        self.nodes = dict(items)
        self.types[node.id] = node.out
        self.users[node.id] = []
        for uid in users:
            if uid == OUTPUT:
                self.output = node.id
            else:
                n = self.nodes[uid]
                self.nodes[uid] = n.model_copy(
                    update={"inputs": tuple(node.id if r == anchor else r for r in n.inputs)}
                )
            self.users[node.id].append(uid)
        for ref in node.inputs:
            self.users.setdefault(ref, []).append(node.id)

    def update(self, node: Node) -> None:
        """Change a node in place (same id, same inputs); its counts are recomputed."""
        self.nodes[node.id] = self.recount(node)
        self.types[node.id] = node.out

    def recount(self, node: Node) -> Node:
        spec = OPS[node.op]
        ins = self.in_types(node)
        counts = {"params": spec.params(node.args, ins, node.out), "macs": spec.macs(node.args, ins, node.out)}
        return node.model_copy(update=counts)

    def fresh_id(self, base: str) -> str:
        """``base``, or ``base_1``, ``base_2`` ...: an id no node, input or weight uses, and no prefix of one."""
        taken = set(self.types) | set(self.nodes)
        cand, n = base, 0
        while cand in taken or any(t.startswith(cand + ".") for t in taken):
            n += 1
            cand = f"{base}_{n}"
        return cand

    def finish(self) -> tuple[Graph, Weights]:
        # a new Graph, not graph.model_copy(): that would carry over the cached node map of the old one
        fields = {name: getattr(self.graph, name) for name in Graph.model_fields}
        fields.update(nodes=tuple(self.nodes.values()), output=self.output)
        return Graph(**fields), self.weights
