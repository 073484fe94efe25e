"""Signatures of ops, blocks, nets and functions, in the language's own notation.

An op's signature comes from the op registry (:data:`archdsl.ops.OPS`): its pydantic argument
schema gives each argument's type, bounds, default and description, ``positional`` the order of
the arguments that may be given without a name, ``doc`` the one-line summary. A block's comes
from its definition: parameters with their default expressions as written, and the comment lines
above it, its documentation (``archdsl/stdlib/std.arch``). Hover and completion show these.
"""

from __future__ import annotations

import types as pytypes
import typing
from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticUndefined

from archdsl.ops import OpSpec
from archdsl.resolve.values import show
from archdsl.syntax import ast

_BOUNDS = (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"))


@dataclass(frozen=True)
class Argument:
    name: str
    type: str  # 'int ≥ 1', "'nearest' | 'bilinear'", 'bool' ...
    default: str | None  # as the language writes it; None when the argument is required
    doc: str = ""

    def written(self) -> str:
        return self.name if self.default is None else f"{self.name} = {self.default}"


def type_label(annotation: Any) -> str:
    """A pydantic field annotation in words a spec author reads: int, number, bool, 'a' | 'b', ..."""
    if annotation is None or annotation is type(None):
        return "none"
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:  # per-axis arguments (archdsl.ops.base.Window): the type under the metadata
        return type_label(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return " | ".join(show(v) for v in typing.get_args(annotation))
    if origin in (typing.Union, pytypes.UnionType):
        return " | ".join(type_label(a) for a in typing.get_args(annotation))
    if origin is tuple:
        return "(" + ", ".join("..." if a is Ellipsis else type_label(a) for a in typing.get_args(annotation)) + ")"
    return {int: "int", float: "number", bool: "bool", str: "string"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def op_arguments(spec: OpSpec) -> list[Argument]:
    """The arguments of an op, positional ones first in their order, then the rest as declared."""
    fields = {k: f for k, f in spec.args.model_fields.items() if k != "op"}
    order = [k for k in spec.positional if k in fields] + [k for k in fields if k not in spec.positional]
    out = []
    for k in order:
        f = fields[k]
        bounds = " ".join(f"{sym} {getattr(m, attr)}" for m in f.metadata for attr, sym in _BOUNDS if hasattr(m, attr))
        typ = type_label(f.annotation) + (f" {bounds}" if bounds else "")
        default = None if f.default is PydanticUndefined else show(f.default)
        out.append(Argument(k, typ, default, f.description or ""))
    return out


def op_signature(spec: OpSpec) -> str:
    args = op_arguments(spec)
    if spec.variadic:
        ins = "x, y" if spec.max_inputs == 2 else "x, y, ..."
        head = f"{spec.name}({ins}{', ' if args else ''}"
    else:
        head = f"{spec.name}("
    return head + ", ".join(a.written() for a in args) + ")"


def source_of(texts: dict[str, str], span) -> str | None:
    """The text of ``span`` in one of ``texts`` (label → normalised text)."""
    text = texts.get(span.file)
    if text is None:
        return None
    lines = text.split("\n")
    if not 1 <= span.line <= span.end_line <= len(lines):
        return None
    if span.line == span.end_line:
        return lines[span.line - 1][span.col - 1 : span.end_col - 1]
    parts = [lines[span.line - 1][span.col - 1 :], *lines[span.line : span.end_line - 1]]
    parts.append(lines[span.end_line - 1][: span.end_col - 1])
    return " ".join(p.strip() for p in parts)


def param_arguments(params: tuple[ast.Param, ...], texts: dict[str, str]) -> list[Argument]:
    out = []
    for p in params:
        default = None
        if p.default is not None:
            default = source_of(texts, p.default.span) or "…"
        out.append(Argument(p.name, "", default))
    return out


def definition_signature(d: ast.BlockDef | ast.NetDef, texts: dict[str, str]) -> str:
    kw = "block" if isinstance(d, ast.BlockDef) else "net"
    args = param_arguments(d.params, texts)
    sig = f"{kw} {d.name}" + ("(" + ", ".join(a.written() for a in args) + ")" if d.params or kw == "block" else "")
    if isinstance(d, ast.NetDef) and d.extends is not None:
        sig += f" extends {d.extends.name}"
    return sig


def function_signature(name: str, fn) -> str:
    return fn.usage  # "round(x, ndigits = none)", as docs/language.md writes it
