"""The words on the figure: op and block labels, shapes, counts.

A label names the op as a paper would (``conv 3×3 · 32 · g4``, ``AADS · blur 3 · ↓2``) with its key
arguments: channels, kernel, stride (as ``↓s``), groups. Unknown ops (added to the registry after
this was written) fall back to their name and non-default-looking arguments.
"""

from __future__ import annotations

from archdsl.ir import Node
from archdsl.ops import TensorType

ACT_NAMES = {
    "relu": "ReLU",
    "relu6": "ReLU6",
    "silu": "SiLU",
    "gelu": "GELU",
    "hardswish": "h-swish",
    "hardsigmoid": "h-sigmoid",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softmax": "softmax",
}
NORM_NAMES = {"bn": "BN", "layernorm": "LN", "scale": "scale", "flatten": "flatten", "identity": "identity"}
MERGE_SYMBOLS = {"add": "+", "mul": "×", "concat": "C"}
# ops that a block-level figure folds into the box before them ("conv 3×3 · 32" + "BN · SiLU")
FOLLOWERS = {"bn", "layernorm", "flatten", "dropout", "scale", *ACT_NAMES}
FOLLOWERS.discard("softmax")


def shape(t: TensorType) -> str:
    dims = "×".join(str(d) for d in t.shape)
    return dims if t.layout != "tokens" else f"{dims} tokens"


def count(n: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)


def stride_of(node: Node) -> int:
    s = getattr(node.args, "s", None)
    return s if isinstance(s, int) and s > 1 else 1


def is_downsampling(node: Node) -> bool:
    """Blur pools (AADS) and every strided op outside an attention condenser's condense step."""
    return node.op == "blurpool" or stride_of(node) > 1


def op_title(node: Node, in_type: TensorType | None = None) -> str:
    a = node.args
    op = node.op
    if op == "conv":
        dw = in_type is not None and a.groups > 1 and a.groups == in_type.c and a.c == a.groups
        parts = [f"{'dw conv' if dw else 'conv'} {a.k}×{a.k}", str(a.c)]
        if a.groups > 1 and not dw:
            parts.append(f"g{a.groups}")
        if a.d > 1:
            parts.append(f"dil {a.d}")
        if a.s > 1:
            parts.append(f"↓{a.s}")
        return " · ".join(parts)
    if op == "linear":
        return f"linear · {a.c}"
    if op in ("maxpool", "avgpool"):
        s = a.s if a.s is not None else a.k
        return f"{op} {a.k}×{a.k}" + (f" · ↓{s}" if s > 1 else "")
    if op == "blurpool":
        return f"AADS · blur {a.filt}" + (f" · ↓{a.s}" if a.s > 1 else "")
    if op == "upsample":
        return f"upsample ×{a.scale}" + ("" if a.mode == "nearest" else f" {a.mode}")
    if op == "gap":
        return "global avg pool"
    if op == "dropout":
        return f"dropout {a.p:g}"
    if op == "shuffle":
        return f"shuffle · g{a.groups}"
    if op == "slice":
        return f"slice {a.start}:{a.stop}"
    if op in ("unfold", "fold"):
        return f"{op} {a.p}×{a.p}"
    if op == "mhsa":
        return f"MHSA · {a.heads} heads"
    if op in ACT_NAMES:
        return ACT_NAMES[op]
    if op in NORM_NAMES:
        return NORM_NAMES[op]
    if op in MERGE_SYMBOLS:
        return op
    extra = [f"{k}={v}" for k, v in a.model_dump().items() if k != "op" and v not in (None, False)]
    return " · ".join([op, *extra])


def block_args(name: str, args: dict, out: TensorType | None) -> str:
    """The key arguments of a block instance: ``320 ch · 3×3 · g4 · mid 160``."""
    parts: list[str] = []
    if "c" in args and isinstance(args["c"], int):
        parts.append(f"{args['c']} ch")
    elif out is not None:
        parts.append(f"{out.c} ch")
    k = args.get("k")
    if isinstance(k, int) and k > 1:
        parts.append(f"{k}×{k}")
    g = args.get("groups")
    if isinstance(g, int) and g > 1:
        parts.append(f"g{g}")
    s = args.get("s")
    if isinstance(s, int) and s > 1:
        parts.append(f"↓{s}")
    for key in ("mid", "e", "r", "heads", "d", "depth"):
        v = args.get(key)
        if v is not None and not isinstance(v, bool):
            parts.append(f"{key} {v:g}" if isinstance(v, float) else f"{key} {v}")
    return " · ".join(parts)
