"""What is where in a document: every name in the AST, what kind of name it is, and what it means.

:func:`build` walks a module once and records an :class:`Occurrence` for each definition (net,
block, parameter, named tensor, input) and each use (a call, a keyword argument, a name or
attribute in an expression, an import, a string that names an op or block). :meth:`Index.at`
finds the innermost one under the cursor; :meth:`Index.resolve` says what a name means where it
is written, with the resolver's rules: a name in a net or block is first its own parameters and
tensors (a net also sees those of the nets it extends), then a primitive op, then a block.
Hover, go to definition, references and completion all work from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from archdsl.diagnostics import Span
from archdsl.lsp.positions import contains, span_size
from archdsl.ops import OPS
from archdsl.resolve.functions import FUNCTIONS as BUILTINS
from archdsl.syntax import ast

BLOCK_INPUT = "in"


@dataclass(frozen=True)
class Occurrence:
    # net | block | param | tensor | input | call | kwarg | name | attr | fcall | import | string | extends | construct
    kind: str
    name: str
    span: Span  # the name itself
    owner: Any = None  # the enclosing ast.BlockDef / ast.NetDef (None at the top level)
    node: Any = None  # the AST node the name belongs to (Call, Arg, Param, Assign ...)
    callee: Any = None  # for a keyword argument: the Call / FCall / Columns / Extends it is given to


@dataclass(frozen=True)
class Meaning:
    """What a name denotes: ``kind`` is op | block | param | tensor | input | block-input | net | function | unknown."""

    kind: str
    name: str
    definition: Any = None  # the ast.BlockDef / Param / Assign / InputStmt / NetDef, or the OpSpec
    span: Span | None = None  # where it is defined (its name), when it is written somewhere
    owner: Any = None  # the definition's net or block


def name_span(span: Span, name: str) -> Span:
    """The span of ``name`` at the start of ``span`` (a parameter, keyword argument ...)."""
    return Span(span.file, span.line, span.col, span.line, span.col + len(name))


@dataclass
class Index:
    module: ast.Module
    blocks: dict[str, ast.BlockDef]  # every block the program knows (imports and std included)
    nets: dict[str, ast.NetDef]
    occurrences: list[Occurrence] = field(default_factory=list)
    input_spans: dict[int, Span] = field(default_factory=dict)  # id(InputStmt) → the span of its name
    _by_line: dict[int, list[Occurrence]] | None = field(default=None, repr=False)

    def at(self, line: int, col: int) -> Occurrence | None:
        """The innermost occurrence whose name spans (line, col), its end included."""
        if self._by_line is None:
            self._by_line = {}
            for occ in self.occurrences:
                for ln in range(occ.span.line, occ.span.end_line + 1):
                    self._by_line.setdefault(ln, []).append(occ)
        best = None
        for occ in self._by_line.get(line, ()):
            if contains(occ.span, line, col) and (best is None or span_size(occ.span) < span_size(best.span)):
                best = occ
        return best

    def owner_at(self, line: int) -> ast.BlockDef | ast.NetDef | None:
        for d in [*self.module.blocks, *self.module.nets]:
            if d.span.line <= line <= d.span.end_line:
                return d
        return None

    # ---- scopes -----------------------------------------------------------------------
    def chain(self, owner) -> list:
        """The definition and, for a net, the nets it extends (nearest first)."""
        out = []
        seen: set[int] = set()
        cur = owner
        while cur is not None and id(cur) not in seen:
            out.append(cur)
            seen.add(id(cur))
            if isinstance(cur, ast.NetDef) and cur.extends is not None:
                cur = self.nets.get(cur.extends.name)
            else:
                cur = None
        return out

    def local(self, name: str, owner) -> Meaning | None:
        """``name`` as a parameter, tensor or input of ``owner`` (or of a net it extends)."""
        if owner is None:
            return None
        if isinstance(owner, ast.BlockDef) and name == BLOCK_INPUT:
            return Meaning("block-input", name, owner, owner.name_span, owner)
        for d in self.chain(owner):
            for stmt in d.body:
                if isinstance(stmt, ast.Assign) and stmt.name == name:
                    return Meaning("tensor", name, stmt, stmt.name_span, d)
                if isinstance(stmt, ast.InputStmt) and stmt.name == name:
                    return Meaning("input", name, stmt, self.input_spans.get(id(stmt)) or input_name_span(stmt), d)
            for p in d.params:
                if p.name == name:
                    return Meaning("param", name, p, name_span(p.span, p.name), d)
        return None

    def resolve(self, occ: Occurrence) -> Meaning:
        """What the name of ``occ`` means where it is written."""
        k, name = occ.kind, occ.name
        if k == "block":
            return Meaning("block", name, occ.node, occ.span)
        if k == "net":
            return Meaning("net", name, occ.node, occ.span)
        if k in ("param", "tensor", "input"):
            return self.local(name, occ.owner) or Meaning(k, name, occ.node, occ.span, occ.owner)
        if k == "fcall":
            return Meaning("function", name, BUILTINS.get(name))
        if k == "extends":
            n = self.nets.get(name)
            return Meaning("net", name, n, n.name_span if n else None)
        if k == "kwarg":
            return self.keyword(occ)
        if k == "string":
            return self.callable(name)
        if k == "construct":
            return Meaning("construct", name, occ.node)
        if k == "import":
            return Meaning("import", name, occ.node)
        if k in ("name", "attr"):
            return self.local(name, occ.owner) or Meaning("unknown", name)
        if k == "call":
            return self.local(name, occ.owner) or self.callable(name)
        return Meaning("unknown", name)

    def callable(self, name: str) -> Meaning:
        if name in OPS:
            return Meaning("op", name, OPS[name])
        b = self.blocks.get(name)
        if b is not None:
            return Meaning("block", name, b, b.name_span)
        return Meaning("unknown", name)

    def callee_meaning(self, occ: Occurrence) -> Meaning:
        """What the call that a keyword argument is given to calls."""
        c = occ.callee
        if isinstance(c, ast.Call):
            m = self.local(c.name, occ.owner)
            if m is not None and m.kind == "param":
                return m
            return self.callable(c.name)
        if isinstance(c, ast.FCall):
            return Meaning("function", c.func, BUILTINS.get(c.func))
        if isinstance(c, ast.Extends):
            n = self.nets.get(c.name)
            return Meaning("net", c.name, n, n.name_span if n else None)
        if isinstance(c, ast.Columns):
            return Meaning("columns", "columns", c)
        return Meaning("unknown", "")

    def keyword(self, occ: Occurrence) -> Meaning:
        """A keyword argument: the block's or net's parameter it sets (an op's field has no definition)."""
        callee = self.callee_meaning(occ)
        if callee.kind in ("block", "net") and callee.definition is not None:
            for p in callee.definition.params:
                if p.name == occ.name:
                    return Meaning("param", occ.name, p, name_span(p.span, p.name), callee.definition)
        return Meaning("argument", occ.name, callee)


_INPUT_RE = re.compile(r"input\s+([A-Za-z_][A-Za-z0-9_]*)")


def input_name_span(stmt: ast.InputStmt) -> Span:
    """The name of an ``input NAME [...]`` (the statement's span starts at the keyword)."""
    s = stmt.span
    start = s.col + len("input") + 1  # one space, the usual layout (the walker finds the real place)
    return Span(s.file, s.line, start, s.line, start + len(stmt.name))


def build(module: ast.Module, blocks: dict[str, ast.BlockDef], nets: dict[str, ast.NetDef], text: str) -> Index:
    """The index of ``module`` (whose text is ``text``, normalised)."""
    idx = Index(module, blocks, nets)
    _Walker(idx, text.split("\n")).module(module)
    return idx


class _Walker:
    def __init__(self, idx: Index, lines: list[str]):
        self.idx = idx
        self.lines = lines
        self.add = idx.occurrences.append
        self.names = set(OPS)
        self.owner: Any = None

    def occ(self, kind: str, name: str, span: Span, node=None, callee=None) -> None:
        self.add(Occurrence(kind, name, span, self.owner, node, callee))

    def _find(self, span: Span, word: str, after: int = 0) -> Span | None:
        """``word`` as a whole word on the first line of ``span``, at or after column ``after``."""
        if not 1 <= span.line <= len(self.lines):
            return None
        line = self.lines[span.line - 1]
        m = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(word)}(?![A-Za-z0-9_])").search(line, max(span.col - 1, after))
        if m is None:
            return None
        return Span(span.file, span.line, m.start() + 1, span.line, m.end() + 1)

    def module(self, mod: ast.Module) -> None:
        for imp in mod.imports:
            self.occ("import", imp.target, imp.span, imp)
        for b in mod.blocks:
            self.owner = b
            self.occ("block", b.name, b.name_span, b)
            self.params(b.params)
            self.body(b.body)
        for n in mod.nets:
            self.owner = n
            self.occ("net", n.name, n.name_span, n)
            self.params(n.params)
            if n.extends is not None:
                where = self._find(n.extends.span, n.extends.name, n.extends.span.col - 1 + len("extends"))
                if where is not None:
                    self.occ("extends", n.extends.name, where, n.extends)
                self.args(n.extends.args, n.extends)
            self.body(n.body)
        self.owner = None

    def params(self, params) -> None:
        for p in params:
            self.occ("param", p.name, name_span(p.span, p.name), p)
            if p.default is not None:
                self.expr(p.default)

    def body(self, stmts) -> None:
        for s in stmts:
            if isinstance(s, ast.InputStmt):
                where = self._find(s.span, s.name, s.span.col - 1 + len("input")) or input_name_span(s)
                self.idx.input_spans[id(s)] = where
                self.occ("input", s.name, where, s)
                for d in s.dims:
                    self.expr(d)
            elif isinstance(s, ast.MetaStmt):
                for e in s.entries:
                    self.expr(e.value)
            elif isinstance(s, ast.Assign):
                self.occ("tensor", s.name, s.name_span, s)
                self.pipeline(s.pipeline)
            elif isinstance(s, ast.PipeStmt):
                self.pipeline(s.pipeline)

    def pipeline(self, p: ast.Pipeline) -> None:
        for st in p.stages:
            self.element(st.element)
            if st.count is not None:
                self.expr(st.count)
            if st.first is not None:
                callee = st.element if isinstance(st.element, ast.Call) else None
                self.args(st.first, callee)

    def element(self, el) -> None:
        if isinstance(el, ast.Call):
            self.occ("call", el.name, el.name_span, el)
            self.args(el.args or (), el)
        elif isinstance(el, ast.Group):
            self.pipeline(el.pipeline)
            if el.cond is not None:
                self.expr(el.cond)
        elif isinstance(el, ast.Columns):
            self.occ("construct", "columns", name_span(el.span, "columns"), el)
            self.args(el.args, el)
            for c in el.columns:
                self.pipeline(c.pipeline)
                if c.cond is not None:
                    self.expr(c.cond)
        elif isinstance(el, ast.Residual):
            self.occ("construct", "residual", name_span(el.span, "residual"), el)
            self.args(el.args, el)
            self.pipeline(el.body)
            if el.shortcut is not None:
                self.pipeline(el.shortcut)

    def args(self, args, callee) -> None:
        for a in args:
            if a.name is not None:
                self.occ("kwarg", a.name, name_span(a.span, a.name), a, callee)
            self.expr(a.value)

    def expr(self, e) -> None:
        if isinstance(e, ast.Name):
            self.occ("name", e.id, e.span, e)
        elif isinstance(e, ast.Attr):
            self.occ("attr", e.obj, name_span(e.span, e.obj), e)
        elif isinstance(e, ast.Str):
            if e.value in self.names or e.value in self.idx.blocks:
                self.occ("string", e.value, e.span, e)
        elif isinstance(e, ast.UnOp):
            self.expr(e.operand)
        elif isinstance(e, ast.BinOp):
            self.expr(e.left)
            self.expr(e.right)
        elif isinstance(e, (ast.BoolOp, ast.Tuple)):
            for o in e.operands if isinstance(e, ast.BoolOp) else e.items:
                self.expr(o)
        elif isinstance(e, ast.IfExp):
            self.expr(e.body)
            self.expr(e.test)
            self.expr(e.orelse)
        elif isinstance(e, ast.FCall):
            self.occ("fcall", e.func, e.name_span, e)
            self.args(e.args, e)
