"""Emitters: one function ``emit_<op>(b, node, xs) -> str`` per IR op, grouped by op family.

An emitter receives the :class:`~archdsl_backends.onnx.builder.Builder`, the IR node and the ONNX
tensor names of its inputs; it appends the ONNX nodes that compute the op (docs/ir.md, "Op
semantics") and returns the name of the tensor holding the result, normally ``node.id``.
Ops that are the identity at inference (``identity``, ``dropout``) return their input and add no
node.

A module may also define ``check_<op>(node, ins, opset) -> str | None``: it returns why the op
cannot be expressed at that opset (the backend turns it into a located ``B001`` diagnostic) or
None. The table is explicit: the modules listed below, each function found by its name, a duplicate
or a name that is not a registered op being an error at import time.
"""

from __future__ import annotations

from collections.abc import Callable

from archdsl.ops import OPS

from . import emit_conv, emit_merge, emit_norm_act, emit_pool, emit_tokens

MODULES = (emit_conv, emit_norm_act, emit_pool, emit_merge, emit_tokens)


def _collect(prefix: str) -> dict[str, Callable]:
    table: dict[str, Callable] = {}
    for module in MODULES:
        for attr in sorted(vars(module)):
            if not attr.startswith(prefix):
                continue
            op = attr[len(prefix) :]
            if op not in OPS:
                raise RuntimeError(f"{module.__name__}.{attr}: '{op}' is not a registered op")
            if op in table:
                raise RuntimeError(f"two ONNX {prefix}{op} functions")
            table[op] = getattr(module, attr)
    return table


EMITTERS: dict[str, Callable] = _collect("emit_")
CHECKS: dict[str, Callable] = _collect("check_")

__all__ = ["CHECKS", "EMITTERS"]
