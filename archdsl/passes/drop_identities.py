"""Drop the ops that are the identity at inference (``identity``, ``dropout``: ops with the alias trait).

Their consumers read the op's input instead. Exact.
"""

from __future__ import annotations

from archdsl.ops import OPS
from archdsl.passes.rewriter import Rewriter

NAME = "identity removed"


def drop_identities(rw: Rewriter) -> bool:
    changed = False
    for nid in list(rw.nodes):
        node = rw.nodes[nid]
        if OPS[node.op].traits.alias and len(node.inputs) == 1:
            src = node.inputs[0]
            rw.redirect(nid, src)
            rw.remove(nid)
            rw.stats[NAME] += 1
            changed = True
    return changed
