"""From the IR to a figure: boxes, clusters and edges, independent of Graphviz.

The figure is what a paper author would draw (AttendNeXt, Figure 1): stages as clusters left to
right, parallel columns as sub-clusters, merges as small circles, blocks as boxes with their key
arguments, DC-AC modules as their condense / embed / expand layers (:mod:`.figure_attention`; the
boxes, clusters and edges are :mod:`.figure_model`). Three levels of detail:

* ``STAGES``: one box per stage (inside its cluster) with a summary of its contents;
* ``BLOCKS``: a box per block instance; primitive ops outside blocks as boxes, each followed by
  the norm / activation it feeds (``conv 3×3 · 32`` with ``BN · SiLU`` underneath); channel
  slices and identities folded into the edges; attention condensers drawn by layer role;
* ``OPS``: every primitive op; blocks become clusters.

Identical consecutive iterations of a repeat are rolled up as one box (or, at ``OPS``, one
cluster holding the first of them) labelled ``×N``, unless ``expand`` is set.

Every box has a stable id derived from the IR path it stands for: an op's id, a block's path, a
rolled-up run's ``<repeat path>.<first>..<last>``; a cluster's id is ``cluster_<path>``. Each IR
node maps to exactly one box (``unit``); edges are the IR's edges between different boxes, in IR
order, deduplicated, so the DOT text is a pure function of the graph and the options.
"""

from __future__ import annotations

from archdsl.diagnostics import did_you_mean
from archdsl.ir import Graph
from archdsl.ops import TensorType

from . import labels as L
from .errors import OptionError
from .figure_attention import ATTENTION_BLOCKS, AttentionFigure
from .figure_model import Box, Cluster, Edge, Figure
from .options import OPS, STAGES, RenderOptions
from .structure import Structure, Tree, build, contains, runs


def build_figure(graph: Graph, options: RenderOptions) -> Figure:
    return _Builder(build(graph), options).figure()


class _Builder(AttentionFigure):
    def __init__(self, s: Structure, opts: RenderOptions) -> None:
        self.s = s
        self.opts = opts
        self.level = opts.depth
        self.unit: dict[str, str] = {}  # node id (or graph input) -> box id
        self.alias_fwd: dict[str, str] = {}  # folded into its producer: node -> its input
        self.alias_back: dict[str, str] = {}  # folded into its consumer: node -> consumer
        self.iteration: dict[str, tuple[str, int]] = {}  # node -> (rolled run id, iteration index)
        self.ids: set[str] = set()

    # ---- entry ---------------------------------------------------------------------------
    def figure(self) -> Figure:
        s, g = self.s, self.s.graph
        items: list[Box | Cluster] = []
        if self.opts.focus:
            top = self._focus_tree(self.opts.focus)
            ids = top.node_ids()
            for ref in s.external_inputs(top, ids):
                t = s.type_of(ref)
                role = "input" if ref in {i.name for i in g.inputs} else "external"
                items.append(self._box(ref, role, ref, [L.shape(t)], [], tooltip=f"{ref}: {t}"))
                self.unit[ref] = ref
            _add(items, self._scope(top))
            inside = set(ids)
            outs = [n for n in ids if n == g.output or any(c not in inside for c in s.consumers[n])]
        else:
            for i in g.inputs:
                items.append(self._box(i.name, "input", i.name, [L.shape(i.type)], [], tooltip=f"{i.name}: {i.type}"))
                self.unit[i.name] = i.name
            items.extend(self._children(s.root))
            outs = [g.output]
        out_id = self._fresh("output")
        edges = self._edges()
        if outs:
            last = outs[-1]
            t = s.type_of(last)
            items.append(self._box(out_id, "output", "output", [L.shape(t)], [], tooltip=f"{last}: {t}"))
            seen = {(e.tail, e.head) for e in edges}
            for o in outs:
                u = self._resolve(o)
                if u is not None and (u, out_id) not in seen:
                    seen.add((u, out_id))
                    edges.append(Edge(u, out_id, L.shape(s.type_of(o)) if self.opts.shapes else ""))
        unit = {n.id: u for n in g.nodes if (u := self._resolve(n.id)) is not None}
        drawn = [n for n in g.nodes if n.id in unit]
        params, macs = sum(n.params for n in drawn), sum(n.macs for n in drawn)
        return Figure(g.name, items, edges, self.opts, params, macs, unit)

    def _focus_tree(self, path: str) -> Tree:
        s = self.s
        path = path.strip().strip(".")
        if path in s.scopes:
            return s.scopes[path]
        ids = [n.id for n in s.graph.nodes if contains(path, n.id)]
        if not path or not ids:
            known = set(s.scopes) | {n.id for n in s.graph.nodes}
            hint = did_you_mean(path, known) or ("paths look like " + ", ".join(list(s.graph.stages)[:4]))
            raise OptionError(f"--focus: no stage, block or op at path '{path}'", hint)
        if len(ids) == 1 and ids[0] == path:
            # one op: draw it as the figure's only box (inside its owner's frame)
            t = Tree(path=path, kind="group", name=path, children=[path])
            t.first = s.index[path]
            return t
        # a path inside a block that is no scope of its own (a statement such as dcac.attn)
        t = Tree(path=path, kind="group", name=path.rsplit(".", 1)[-1])
        members = set(ids)
        for c in s.every:
            top_level = c.parent is not None and not (c.parent.path and contains(path, c.parent.path))
            if contains(path, c.path) and top_level and c.first < (1 << 60):
                t.children.append(c)
        for nid in ids:
            owner = s.owner[nid]
            if not (owner.path and contains(path, owner.path)):
                t.children.append(nid)
        t.children.sort(key=lambda c: s.index[c] if isinstance(c, str) else c.first)
        t.first = min(s.index[i] for i in members)
        return t

    # ---- ids -----------------------------------------------------------------------------
    def _fresh(self, base: str) -> str:
        cand, k = base, 1
        while cand in self.ids or cand in self.s.nodes:
            cand = f"{base}_{k}"
            k += 1
        return cand

    def _box(self, bid, role, title, lines, members, **kw) -> Box:
        self.ids.add(bid)
        for m in members:
            self.unit[m] = bid
        return Box(bid, role, title, list(lines), list(members), **kw)

    # ---- tree walk -----------------------------------------------------------------------
    def _children(self, t: Tree) -> list[Box | Cluster]:
        items: list[Box | Cluster] = []
        for c in t.children:
            if isinstance(c, Tree):
                _add(items, self._scope(c))
            else:
                self._node(c, t, items)
        return items

    def _scope(self, t: Tree) -> Box | Cluster | None:
        if t.kind == "stage":
            return self._stage(t)
        if t.kind == "block":
            if self._is_attention(t):
                return self._attention(t)
            if self.level >= OPS:
                if len(t.children) == 1 and isinstance(t.children[0], str):
                    return self._op_box(t.children[0])  # a one-op block (aads): the op says it all
                return self._cluster(t, "block", t.name, L.block_args(t.name, t.args, self._out(t)))
            return self._block_box(t)
        if t.kind == "repeat":
            return self._repeat(t)
        if t.kind == "columns":
            n = t.args.get("n", sum(1 for c in t.children if isinstance(c, Tree) and c.kind == "column"))
            sub = " · ".join(x for x in ("split" if t.args.get("split") else "", f"join {t.args.get('join')}") if x)
            return self._cluster(t, "columns", f"{n} columns", sub if t.args.get("join") else "")
        if t.kind == "column":
            return self._cluster(t, "column", t.name, "")
        if t.kind == "iteration":
            return self._inline(t)
        return self._cluster(t, t.kind if t.kind in ("residual", "shortcut") else "group", t.name, "")

    def _inline(self, t: Tree) -> Box | Cluster | None:
        items = self._children(t)
        if not items:
            return None
        if len(items) == 1:
            return items[0]
        return Cluster(t.path, "group", f"#{t.name}", "", items, tooltip=t.path)

    def _cluster(self, t: Tree, role: str, title: str, subtitle: str) -> Cluster | None:
        items = self._children(t)
        if not items:
            return None
        return Cluster(t.path, role, title, subtitle, items, tooltip=t.path)

    # ---- stages --------------------------------------------------------------------------
    def _stage(self, t: Tree) -> Cluster | None:
        out = self._out(t)
        ids = t.node_ids()
        params = sum(self.s.nodes[i].params for i in ids)
        macs = sum(self.s.nodes[i].macs for i in ids)
        ratio = self._downsampling(t, ids)
        sub = L.shape(out) + (f" · ↓{ratio}" if ratio > 1 else "")
        tip = f"{t.path}: {out}, {params:,} params, {macs:,} MACs"
        if self.level == STAGES:
            lines = [*self._stage_summary(t), f"{L.shape(out)} · {L.count(params)} params"]
            box = self._box(t.path, "stage", t.name, lines, ids, emphasis=ratio > 1, tooltip=tip)
            return Cluster(t.path, "stage", t.name, sub, [box], tooltip=tip)
        items = self._children(t)
        if not items:
            return None
        return Cluster(t.path, "stage", t.name, sub, items, tooltip=tip)

    def _stage_summary(self, t: Tree) -> list[str]:
        parts: list[str] = []
        for c in t.children:
            if isinstance(c, str):
                n = self.s.nodes[c]
                if L.follower(n) or L.invisible(n) or L.selection(n, self._in_type(c)):
                    continue
                parts.append(L.op_title(n).split(" · ")[0] + (f" ↓{L.stride_of(n)}" if L.stride_of(n) > 1 else ""))
            elif c.kind == "block":
                name = ATTENTION_BLOCKS.get(c.name, "AADS" if self._is_aads(c) else c.name)
                r = self._downsampling(c)
                parts.append(name + (f" ↓{r}" if r > 1 else ""))
            elif c.kind == "repeat":
                parts.append(f"{c.name} ×{c.args.get('count', len(c.children))}")
            elif c.kind == "columns":
                parts.append(f"{c.args.get('n', '?')} columns")
            else:
                parts.append(c.name)
        lines, cur = [], []
        for p in parts:
            cur.append(p)
            if len(cur) == 3:
                lines.append(" → ".join(cur))
                cur = []
        if cur:
            lines.append(" → ".join(cur))
        return [("→ " if i else "") + ln for i, ln in enumerate(lines)]

    # ---- blocks --------------------------------------------------------------------------
    def _out(self, t: Tree) -> TensorType:
        ids = t.node_ids()
        last = max(ids, key=self.s.index.__getitem__)
        return self.s.nodes[last].out

    def _downsampling(self, t: Tree, ids: list[str] | None = None) -> int:
        """Spatial reduction factor from the scope's input to its output (1 when none)."""
        ids = ids if ids is not None else t.node_ids()
        ins = self.s.external_inputs(t, ids)
        if not ins:
            return 1
        tin = self.s.type_of(ins[0])
        tout = self.s.nodes[max(ids, key=self.s.index.__getitem__)].out
        if tin.layout != "chw" or tout.layout != "chw" or tout.h >= tin.h or tout.h == 0:
            return 1
        return max(1, round(tin.h / tout.h))

    def _is_aads(self, t: Tree) -> bool:
        ids = t.node_ids()
        return t.name == "aads" or (len(ids) == 1 and L.traits(self.s.nodes[ids[0]]).antialias)

    def _is_attention(self, t: Tree) -> bool:
        if t.name in ATTENTION_BLOCKS:
            return True
        # a block of one's own that condenses and expands back, with no inner structure to draw
        # (columns, residuals, repeats): an attention condenser by its ops
        if any(c.kind != "block" for c in t.walk() if c is not t):
            return False
        ids = t.node_ids()
        nodes = [self.s.nodes[i] for i in ids]
        pools = any(L.pooling(n) and not L.traits(n).antialias for n in nodes)
        ups = any(L.expands(n, self._in_type(i)) for i, n in zip(ids, nodes, strict=True))
        return pools and ups and self._downsampling(t) == 1

    def _block_box(
        self, t: Tree, count: int = 1, members: list[str] | None = None, bid: str | None = None, note: str = ""
    ) -> Box:
        ids = members if members is not None else t.node_ids()
        out = self._out(t)
        ratio = self._downsampling(t)
        times = f" ×{count}" if count > 1 else ""
        if self._is_aads(t):
            n = self.s.nodes[t.node_ids()[0]]
            blur = L.traits(n).antialias
            detail = L.op_title(n).replace("AADS · ", "") if blur else L.block_args(t.name, t.args, out)
            return self._box(bid or t.path, "downsample", "AADS" + times, [detail], ids, tooltip=t.path)
        args = L.block_args(t.name, t.args, out)
        if ratio > 1 and "↓" not in args:
            args = f"{args} · ↓{ratio}" if args else f"↓{ratio}"
        tip = t.path if count == 1 else f"{bid} (×{count})"
        role = "repeat" if count > 1 else "block"
        lines = [x for x in (args, f"with {note}" if note else "") if x]
        return self._box(bid or t.path, role, t.name + times, lines, ids, emphasis=ratio > 1, tooltip=tip)

    # ---- repeats -------------------------------------------------------------------------
    def _repeat(self, t: Tree) -> Box | Cluster | None:
        if self.opts.expand:
            n = len(t.children)
            return self._cluster(t, "repeat", f"{t.name} ×{n}", "")
        items: list[Box | Cluster] = []
        all_runs = runs(self.s, t)
        feats = [_features(r[0]) for r in all_runs]
        common = set.intersection(*feats) if feats else set()
        for run, feat in zip(all_runs, feats, strict=True):
            rep = run[0]
            note = ", ".join(sorted(feat - common))
            if self.level < OPS and rep.kind == "block" and not self._is_attention(rep):
                members = [m for it in run for m in it.node_ids()]
                bid = rep.path if len(run) == 1 else f"{t.path}.{_seg(rep, t)}..{_seg(run[-1], t)}"
                items.append(self._block_box(rep, len(run), members, bid, note))
                continue
            if len(run) == 1:
                _add(items, self._scope(rep))
                continue
            first, last = _seg(rep, t), _seg(run[-1], t)
            rid = f"{t.path}.{first}..{last}"
            attention = rep.kind == "block" and self._is_attention(rep)
            if self.level < OPS and not attention:
                members = [m for it in run for m in it.node_ids()]
                items.append(self._run_box(rep, run, members, rid, t.name))
                continue
            # draw the first iteration in a cluster labelled ×N; map the others onto it
            inner = self._scope(rep) if rep.kind != "iteration" else self._cluster(rep, "group", "", "")
            if inner is None:
                continue
            tip = f"{t.path} iterations {first}..{last}"
            if attention and isinstance(inner, Cluster):
                inner.id, inner.title, inner.tooltip = rid, f"{inner.title} ×{len(run)}", tip
                items.append(inner)
            else:
                title = f"{t.name} ×{len(run)}"
                sub = L.block_args(rep.name, rep.args, self._out(rep)) if rep.kind == "block" else ""
                unwrap = isinstance(inner, Cluster) and inner.id == rep.path and inner.role in ("block", "group")
                wrapped = inner.items if unwrap else [inner]
                items.append(Cluster(rid, "repeat", title, sub, wrapped, tooltip=tip))
            base = rep.path
            for k, it in enumerate(run):
                for nid in it.node_ids():
                    self.iteration[nid] = (rid, k)
                    if k:
                        twin = base + nid[len(it.path) :]
                        if twin in self.unit:
                            self.unit[nid] = self.unit[twin]
                        else:
                            self.unit[nid] = self.unit.get(base, rid)
        if not items:
            return None
        if len(items) == 1:
            return items[0]
        # several runs: keep them inline (the caller's container holds them in order)
        if self.level >= OPS:
            return Cluster(t.path, "repeat", f"{t.name} ×{len(t.children)}", "", items, tooltip=t.path)
        return _Inline(items)

    def _run_box(self, rep: Tree, run: list[Tree], members: list[str], rid: str, name: str) -> Box:
        """One box for a run of identical iterations that are not block instances (``(conv -> bn) * 3``)."""
        drawn = self._scope(rep)
        n = len(run)
        if isinstance(drawn, Box):
            role = "downsample" if drawn.role == "downsample" else "repeat"
            return self._box(rid, role, f"{drawn.title} · ×{n}", drawn.lines, members, tooltip=f"{rid} (×{n})")
        ids = sorted(rep.node_ids(), key=self.s.index.__getitem__)
        chain = " → ".join(L.op_title(self.s.nodes[i]).split(" · ")[0] for i in ids[:4])
        chain += " → …" if len(ids) > 4 else ""
        title = ATTENTION_BLOCKS.get(rep.name, rep.name) if rep.kind == "block" else name
        return self._box(rid, "repeat", f"{title} ×{n}", [chain], members, tooltip=f"{rid} (×{n})")

    # ---- primitive ops -------------------------------------------------------------------
    def _in_type(self, nid: str) -> TensorType | None:
        n = self.s.nodes[nid]
        return self.s.type_of(n.inputs[0]) if n.inputs else None

    def _node(self, nid: str, owner: Tree, items: list) -> None:
        s = self.s
        n = s.nodes[nid]
        if self.level < OPS:
            cons = s.consumers[nid]
            if L.invisible(n) and len(n.inputs) == 1:
                self.alias_fwd[nid] = n.inputs[0]
                return
            if L.selection(n, self._in_type(nid)) and len(cons) == 1 and s.owner.get(cons[0]) is not None:
                self.alias_back[nid] = cons[0]
                return
            if L.follower(n) and len(n.inputs) == 1 and items:
                prev = items[-1]
                src = n.inputs[0]
                if (
                    isinstance(prev, Box)
                    and prev.role in ("op", "downsample")
                    and prev.members
                    and prev.members[-1] == src
                    and s.consumers[src] == [nid]
                    and s.owner.get(src) is owner
                ):
                    prev.members.append(nid)
                    self.unit[nid] = prev.id
                    word = L.op_title(n)
                    if len(prev.lines) and prev.lines[-1].startswith("+ "):
                        prev.lines[-1] += f" · {word}"
                    else:
                        prev.lines.append(f"+ {word}")
                    return
        items.append(self._op_box(nid))

    def _op_box(self, nid: str, role: str | None = None) -> Box:
        n = self.s.nodes[nid]
        tip = f"{nid}: {n.op} → {n.out}"
        if role is None:
            symbol = L.merge_symbol(n)
            if symbol is not None and len(n.inputs) > 1:
                return self._box(nid, "merge", n.op, [], [nid], symbol=symbol, tooltip=tip)
            role = "downsample" if L.is_downsampling(n) else "op"
        title = L.op_title(n, self._in_type(nid))
        if nid.endswith(".project") and L.projection(n):
            title = "project · " + title
        return self._box(nid, role, title, [], [nid], tooltip=tip)

    # ---- edges ---------------------------------------------------------------------------
    def _resolve(self, ref: str, depth: int = 0) -> str | None:
        if ref in self.unit:
            return self.unit[ref]
        if depth > 10_000:
            return None
        if ref in self.alias_fwd:
            u = self._resolve(self.alias_fwd[ref], depth + 1)
        elif ref in self.alias_back:
            u = self._resolve(self.alias_back[ref], depth + 1)
        else:
            return None
        if u is not None:
            self.unit[ref] = u
        return u

    def _edges(self) -> list[Edge]:
        s = self.s
        out: list[Edge] = []
        seen: set[tuple[str, str]] = set()
        for n in s.graph.nodes:
            v = self._resolve(n.id)
            if v is None:
                continue
            for src in n.inputs:
                u = self._resolve(src)
                if u is None or u == v:
                    continue
                a, b = self.iteration.get(src), self.iteration.get(n.id)
                if a and b and a[0] == b[0] and a[1] != b[1]:
                    continue  # between two iterations of one rolled-up run
                if (u, v) in seen:
                    continue
                seen.add((u, v))
                out.append(Edge(u, v, L.shape(s.type_of(src)) if self.opts.shapes else ""))
        return out


def _features(it: Tree) -> set[str]:
    """Names of the columns, residuals and shortcuts inside an iteration (to tell runs apart)."""
    return {t.name for t in it.walk() if t is not it and t.kind in ("column", "residual", "shortcut")}


class _Inline(list):
    """Several items a repeat contributes to its container's list (no cluster of their own)."""


def _add(items: list, item: Box | Cluster | _Inline | None) -> None:
    if isinstance(item, _Inline):
        items.extend(item)
    elif item is not None:
        items.append(item)


def _seg(it: Tree, rep: Tree) -> str:
    return it.path[len(rep.path) + 1 :] if rep.path else it.path
