"""AST nodes of the archdsl language. Every node keeps the :class:`Span` it came from.

The AST is what the text says, nothing more: names are not looked up and expressions are not
evaluated here. The resolver (``archdsl.resolve``) turns it into the IR.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archdsl.diagnostics import Span

# ---- expressions -------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    span: Span


@dataclass(frozen=True)
class Num(Expr):
    value: int | float


@dataclass(frozen=True)
class Str(Expr):
    value: str


@dataclass(frozen=True)
class Const(Expr):
    value: bool | None


@dataclass(frozen=True)
class Name(Expr):
    id: str


@dataclass(frozen=True)
class Attr(Expr):
    obj: str
    attr: str


@dataclass(frozen=True)
class UnOp(Expr):
    op: str
    operand: Expr


@dataclass(frozen=True)
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class BoolOp(Expr):
    op: str  # "and" | "or" | "not"
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class IfExp(Expr):
    body: Expr
    test: Expr
    orelse: Expr


@dataclass(frozen=True)
class Arg:
    name: str | None
    value: Expr
    span: Span


@dataclass(frozen=True)
class FCall(Expr):
    func: str
    args: tuple[Arg, ...]
    name_span: Span


# ---- pipelines ---------------------------------------------------------------------


@dataclass(frozen=True)
class Element:
    span: Span


@dataclass(frozen=True)
class Call(Element):
    name: str
    args: tuple[Arg, ...] | None  # None: a bare name (tensor reference or call without args)
    name_span: Span


@dataclass(frozen=True)
class Stage:
    element: Element
    count: Expr | None
    first: tuple[Arg, ...] | None
    span: Span


@dataclass(frozen=True)
class Pipeline:
    stages: tuple[Stage, ...]
    span: Span


@dataclass(frozen=True)
class Group(Element):
    pipeline: Pipeline
    cond: Expr | None = None


@dataclass(frozen=True)
class Column:
    label: str | None
    pipeline: Pipeline
    cond: Expr | None
    span: Span


@dataclass(frozen=True)
class Columns(Element):
    args: tuple[Arg, ...]
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Residual(Element):
    args: tuple[Arg, ...]
    body: Pipeline
    shortcut: Pipeline | None


# ---- statements and definitions ----------------------------------------------------


@dataclass(frozen=True)
class Stmt:
    span: Span


@dataclass(frozen=True)
class InputStmt(Stmt):
    name: str
    dims: tuple[Expr, ...]


@dataclass(frozen=True)
class MetaEntry:
    key: str
    value: Expr
    span: Span


@dataclass(frozen=True)
class MetaStmt(Stmt):
    entries: tuple[MetaEntry, ...]


@dataclass(frozen=True)
class Assign(Stmt):
    name: str
    pipeline: Pipeline
    name_span: Span


@dataclass(frozen=True)
class PipeStmt(Stmt):
    pipeline: Pipeline


@dataclass(frozen=True)
class Param:
    name: str
    default: Expr | None
    span: Span


@dataclass(frozen=True)
class BlockDef:
    name: str
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    span: Span
    name_span: Span
    doc: str | None = None


@dataclass(frozen=True)
class Extends:
    name: str
    args: tuple[Arg, ...]
    span: Span


@dataclass(frozen=True)
class NetDef:
    name: str
    params: tuple[Param, ...]
    extends: Extends | None
    body: tuple[Stmt, ...]
    span: Span
    name_span: Span
    doc: str | None = None


@dataclass(frozen=True)
class SpaceEntry:
    """``PARAM = DOMAIN`` in a space: ``value`` is the expression as written; a top-level call of
    ``choice``, ``int`` or ``float`` is a domain (``archdsl/space/build.py`` reads it), anything
    else a fixed value."""

    name: str
    value: Expr
    span: Span
    name_span: Span


@dataclass(frozen=True)
class SpaceDef:
    """``space NAME extends NET(args?) { entries  meta { ... } }``: a search space over NET's parameters."""

    name: str
    extends: Extends
    entries: tuple[SpaceEntry, ...]
    meta: tuple[MetaStmt, ...]
    span: Span
    name_span: Span
    doc: str | None = None


@dataclass(frozen=True)
class Import:
    target: str
    is_path: bool
    span: Span


@dataclass
class Module:
    file: str
    imports: list[Import] = field(default_factory=list)
    blocks: list[BlockDef] = field(default_factory=list)
    nets: list[NetDef] = field(default_factory=list)
    spaces: list[SpaceDef] = field(default_factory=list)
