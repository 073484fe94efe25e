"""Attention condensers in a figure (AttendNeXt's DC-AC): their layers drawn by role, condense /
embed / expand per branch. A mixin of :class:`~.figure._Builder`, which supplies ``s`` (the
structure), ``level``, ``unit``, ``_node``, ``_op_box``, ``_box`` and ``_in_type``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import labels as L
from .figure_model import Box, Cluster
from .options import OPS
from .structure import Tree

if TYPE_CHECKING:
    from .structure import Structure

ATTENTION_BLOCKS = {"dcac": "DC-AC", "attention_condenser": "attention condenser"}


class AttentionFigure:
    s: Structure
    level: int
    unit: dict[str, str]

    def _roles(self, t: Tree, ids: list[str]) -> dict[str, str | None]:
        """condense / embed / expand for the layers of an attention condenser, per branch."""
        s = self.s
        cut = len(t.path) + 1
        state: dict[str, str | None] = {}
        roles: dict[str, str | None] = {}
        for nid in sorted(ids, key=s.index.__getitem__):
            n = s.nodes[nid]
            rel = nid[cut:]
            branch = rel.split(".", 1)[0] if "." in rel else ""
            last = state.get(branch)
            role: str | None = None
            if L.pooling(n) and last in (None, "condense") and L.stride_of(n) > 1:
                role = "condense"
            elif L.expands(n, self._in_type(nid)) and last in ("condense", "embed", "expand"):
                role = "expand"
            elif (L.projection(n) and last in ("condense", "embed")) or (L.follower(n) and last == "embed"):
                role = "embed"
            roles[nid] = role
            if role is not None:
                state[branch] = role
            elif last == "expand":
                state[branch] = "done"
        return roles

    def _attention(self, t: Tree) -> Cluster | None:
        s = self.s
        ids = sorted(t.node_ids(), key=s.index.__getitem__)
        if not ids:
            return None
        roles = self._roles(t, ids)
        items: list[Box | Cluster] = []
        for nid in ids:
            role = roles[nid]
            n = s.nodes[nid]
            if role is None:
                if self.level < OPS:
                    self._node(nid, t, items)
                else:
                    items.append(self._op_box(nid))
                continue
            title = L.op_title(n, self._in_type(nid))
            prev = items[-1] if items else None
            src = n.inputs[0] if len(n.inputs) == 1 else None
            if (
                self.level < OPS
                and isinstance(prev, Box)
                and prev.role == role
                and src is not None
                and prev.members[-1] == src
                and s.consumers[src] == [nid]
            ):
                prev.members.append(nid)
                self.unit[nid] = prev.id
                if L.follower(n):
                    prev.lines[-1] += f" · {title}"
                else:
                    prev.lines.append(title)
                continue
            items.append(self._box(nid, role, role, [title], [nid], tooltip=f"{nid}: {n.op} → {n.out}"))
        name = ATTENTION_BLOCKS.get(t.name, t.name)
        sub = L.block_args(t.name, {k: v for k, v in t.args.items() if k != "c"}, None)
        return Cluster(t.path, "attention", name, sub, items, tooltip=t.path)
