"""Deploy transforms: the inference form of a graph and its weights, equal in eval mode.

Three rewrites of the IR graph together with its ``state_dict``, repeated until nothing changes:

1. ``identity`` and ``dropout`` nodes are removed (both are the identity in eval mode);
2. a ``bn`` whose input is a ``conv`` used by nothing else is folded into that conv
   (``w' = w·γ/σ``, ``b' = (b - μ)·γ/σ + β`` with ``σ = sqrt(var + eps)``);
3. an ``add`` whose terms are all linear in one tensor X (convs of X with one stride, groups and
   dilation 1 and "same" padding, ``bn(X)``, X itself, or nested adds of those) becomes one conv
   of X: MobileOne's re-parameterisation (the k×k branches, the 1×1 scale branch and the BN
   identity branch sum into one k×k conv with bias). The merged conv is named ``<scope>.reparam``.

The result is again a valid IR graph (its ``params`` and ``macs`` recounted), so the module, the
standalone file and any other backend can be made from it. Arithmetic is done in float64.
"""

from __future__ import annotations

import torch

from archdsl.ir import Graph, Node
from archdsl.ops import OPS

Tensors = dict[str, torch.Tensor]


class _Work:
    def __init__(self, graph: Graph, state: Tensors) -> None:
        self.graph = graph
        self.nodes: dict[str, Node] = {n.id: n for n in graph.nodes}
        self.output = graph.output
        self.state = dict(state)
        self.types = {i.name: i.type for i in graph.inputs}
        for n in graph.nodes:
            self.types[n.id] = n.out

    def consumers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {ref: [] for ref in [*self.types]}
        for n in self.nodes.values():
            for ref in n.inputs:
                out[ref].append(n.id)
        if self.output in out:
            out[self.output].append("<output>")
        return out

    def rename(self, old: str, new: str) -> None:
        """Every use of ``old`` now reads ``new``."""
        for nid, n in list(self.nodes.items()):
            if old in n.inputs:
                self.nodes[nid] = n.model_copy(update={"inputs": tuple(new if r == old else r for r in n.inputs)})
        if self.output == old:
            self.output = new

    def remove(self, nid: str) -> None:
        del self.nodes[nid]
        for key in [k for k in self.state if k.startswith(nid + ".")]:
            del self.state[key]

    def replace(self, nid: str, node: Node) -> None:
        """Put ``node`` where ``nid`` was (keeping the topological order)."""
        items = [(node.id, node) if k == nid else (k, v) for k, v in self.nodes.items()]
        self.nodes = dict(items)

    def recount(self, node: Node) -> Node:
        spec = OPS[node.op]
        ins = [self.types[r] for r in node.inputs]
        counts = {"params": spec.params(node.args, ins, node.out), "macs": spec.macs(node.args, ins, node.out)}
        return node.model_copy(update=counts)

    def finish(self) -> tuple[Graph, Tensors]:
        # a new Graph, not graph.model_copy(): that would carry over the cached node map of the old one
        fields = {name: getattr(self.graph, name) for name in Graph.model_fields}
        fields.update(nodes=tuple(self.nodes.values()), output=self.output)
        return Graph(**fields), self.state


def _drop_identities(w: _Work) -> bool:
    changed = False
    for nid, n in list(w.nodes.items()):
        if n.op in ("identity", "dropout"):
            w.remove(nid)
            w.rename(nid, n.inputs[0])
            changed = True
    return changed


def _bn_affine(w: _Work, bn: Node) -> tuple[torch.Tensor, torch.Tensor]:
    """The eval-mode BN as ``y = x·scale + shift`` (float64)."""
    s = w.state
    gamma = s[f"{bn.id}.weight"].double()
    beta = s[f"{bn.id}.bias"].double()
    mean = s[f"{bn.id}.running_mean"].double()
    var = s[f"{bn.id}.running_var"].double()
    scale = gamma / torch.sqrt(var + bn.args.eps)
    return scale, beta - mean * scale


def _fold_bn(w: _Work) -> bool:
    changed = False
    uses = w.consumers()
    for nid, bn in list(w.nodes.items()):
        if bn.op != "bn":
            continue
        src = w.nodes.get(bn.inputs[0])
        if src is None or src.op != "conv" or uses[src.id] != [nid]:
            continue
        scale, shift = _bn_affine(w, bn)
        weight = w.state[f"{src.id}.weight"].double()
        bias = w.state.get(f"{src.id}.bias")
        bias = torch.zeros_like(scale) if bias is None else bias.double()
        dtype = w.state[f"{src.id}.weight"].dtype
        w.state[f"{src.id}.weight"] = (weight * scale.view(-1, 1, 1, 1)).to(dtype)
        w.state[f"{src.id}.bias"] = (bias * scale + shift).to(dtype)
        conv = src.model_copy(update={"args": src.args.model_copy(update={"bias": True}), "out": bn.out})
        w.nodes[src.id] = w.recount(conv)
        w.remove(nid)
        w.rename(nid, src.id)
        uses = w.consumers()
        changed = True
    return changed


def _terms(w: _Work, ref: str, uses: dict[str, list[str]], owner: str, absorbed: list[str]) -> list[tuple[str, str]]:
    """The linear terms of ``ref`` as (kind, id) pairs: ("conv", id), ("bn", id) or ("id", X).

    A node is looked into only when ``owner`` is its sole consumer; what it absorbs is recorded.
    """
    n = w.nodes.get(ref)
    if n is None or uses[ref] != [owner] or n.op not in ("conv", "bn", "add"):
        return [("id", ref)]
    absorbed.append(ref)
    if n.op != "add":
        return [(n.op, ref)]
    out: list[tuple[str, str]] = []
    for r in n.inputs:
        out += _terms(w, r, uses, ref, absorbed)
    return out


def _source(w: _Work, kind: str, ref: str) -> str:
    return ref if kind == "id" else w.nodes[ref].inputs[0]


def _merge_adds(w: _Work) -> bool:
    uses = w.consumers()
    for nid, add in list(w.nodes.items()):
        if add.op != "add" or nid not in w.nodes:
            continue
        absorbed: list[str] = []
        terms: list[tuple[str, str]] = []
        for r in add.inputs:
            terms += _terms(w, r, uses, nid, absorbed)
        convs = [w.nodes[r] for k, r in terms if k == "conv"]
        if not convs:
            continue
        xs = {_source(w, k, r) for k, r in terms}
        if len(xs) != 1:
            continue
        (x,) = xs
        first = convs[0].args
        if any(
            c.args.s != first.s
            or c.args.groups != first.groups
            or c.args.d != 1
            or c.args.c != first.c
            or c.args.k % 2 == 0
            or c.args.p != (c.args.k - 1) // 2
            for c in convs
        ):
            continue
        cin = w.types[x].c
        if any(k != "conv" for k, _ in terms) and (first.s != 1 or cin != first.c):
            continue
        big = max(c.args.k for c in convs)
        weight, bias = _merged_weights(w, terms, big, cin, first.groups, first.c)
        new_id = _fresh_id(w, nid)
        args = first.model_copy(update={"k": big, "p": (big - 1) // 2, "bias": True})
        node = Node(id=new_id, op="conv", args=args, inputs=(x,), out=add.out, params=0, macs=0, span=add.span)
        w.types[new_id] = add.out
        node = w.recount(node)
        dtype = w.state[f"{convs[0].id}.weight"].dtype
        for r in absorbed:
            w.remove(r)
        w.replace(nid, node)
        w.state[f"{new_id}.weight"] = weight.to(dtype)
        w.state[f"{new_id}.bias"] = bias.to(dtype)
        w.rename(nid, new_id)
        return True
    return False


def _merged_weights(w: _Work, terms, k: int, cin: int, groups: int, cout: int):
    weight = torch.zeros(cout, cin // groups, k, k, dtype=torch.float64)
    bias = torch.zeros(cout, dtype=torch.float64)
    per_group = cin // groups
    for kind, ref in terms:
        if kind == "conv":
            c = w.nodes[ref]
            cw = w.state[f"{ref}.weight"].double()
            off = (k - c.args.k) // 2
            weight[:, :, off : off + c.args.k, off : off + c.args.k] += cw
            if f"{ref}.bias" in w.state:
                bias += w.state[f"{ref}.bias"].double()
            continue
        ident = torch.zeros(cout, per_group, k, k, dtype=torch.float64)
        idx = torch.arange(cout)
        ident[idx, idx % per_group, k // 2, k // 2] = 1.0
        if kind == "bn":
            scale, shift = _bn_affine(w, w.nodes[ref])
            ident = ident * scale.view(-1, 1, 1, 1)
            bias += shift
        weight += ident
    return weight, bias


def _fresh_id(w: _Work, add_id: str) -> str:
    scope = add_id.rpartition(".")[0]
    base = f"{scope}.reparam" if scope else "reparam"
    taken = set(w.types) | set(w.nodes)
    cand, n = base, 0
    while cand in taken or any(t.startswith(cand + ".") for t in taken):
        n += 1
        cand = f"{base}_{n}"
    return cand


def deploy_graph(graph: Graph, state: Tensors) -> tuple[Graph, Tensors]:
    """The deploy form of ``graph`` and its weights ``state`` (a ``state_dict``); inputs are not changed."""
    w = _Work(graph, {k: v.detach() for k, v in state.items()})
    changed = True
    while changed:
        changed = _drop_identities(w)
        changed |= _fold_bn(w)
        while _merge_adds(w):
            changed = True
    return w.finish()


__all__ = ["deploy_graph"]
