"""Move a nearest upsampling below the per-pixel ops after it.

``op(upsample(x))`` becomes ``upsample(op(x))`` when ``op`` works pixel by pixel (the
``per_pixel`` trait: activations, channel softmax, scale, norms of a feature map) or is an
elementwise merge (``add``, ``mul``) of nearest upsamplings by one factor, each read by that op
alone: the same values, computed on s² times fewer pixels. In a DC-AC the softmax, gating product
and SiLU then run at the condensed resolution and one upsampling ends the block. Exact.

The op keeps its id (now at the low resolution); the upsampling keeps its id and now reads the op.
"""

from __future__ import annotations

from archdsl.ir import Node
from archdsl.ops import OPS
from archdsl.passes.rewriter import Rewriter

NAME = "upsampling moved later"


def _nearest(rw: Rewriter, ref: str, user: str) -> Node | None:
    node = rw.node(ref)
    if node is None or node.op != "upsample" or node.args.mode != "nearest" or rw.only_user(ref) != user:
        return None
    return node


def _sink_one(rw: Rewriter, n: Node) -> bool:
    if n.out.layout != "chw":
        return False
    t = OPS[n.op].traits
    if t.per_pixel and not t.merge and not t.view and len(n.inputs) == 1:
        ups = [_nearest(rw, n.inputs[0], n.id)]
    elif t.merge and t.elementwise and len(set(n.inputs)) == len(n.inputs):
        ups = [_nearest(rw, r, n.id) for r in n.inputs]
    else:
        return False
    if any(u is None for u in ups):
        return False
    if len({(u.args.scale, u.out) for u in ups}) != 1 or ups[0].out != n.out:
        return False
    up = ups[0]
    low_inputs = tuple(u.inputs[0] for u in ups)
    low_type = rw.types[low_inputs[0]]
    # the op now reads the low-resolution tensors ...
    for u in ups:
        rw.redirect(u.id, u.inputs[0])
    for u in ups[1:]:
        rw.remove(u.id)
    rw.remove(up.id)
    low = n.model_copy(update={"inputs": low_inputs, "out": low_type})
    rw.update(low)
    # ... and one upsampling, under the first one's id, brings its result back up
    moved = up.model_copy(update={"inputs": (n.id,), "out": n.out})
    rw.insert_after(n.id, moved)
    rw.stats[NAME] += 1
    return True


def sink_upsample(rw: Rewriter) -> bool:
    changed = False
    for nid in list(rw.nodes):
        node = rw.nodes.get(nid)
        if node is not None and _sink_one(rw, node):
            changed = True
    return changed
