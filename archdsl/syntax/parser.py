"""Parse archdsl text into the AST, turning syntax errors into located diagnostics.

:func:`parse_text` runs archdsl's own LALR driver and contextual lexer (:mod:`archdsl.syntax.lalr`,
Lark's algorithm over the parse tables shipped in the ``archdsl_grammars`` package) with the AST
built while parsing (:mod:`archdsl.syntax.fastbuild`); it never imports Lark. Lark's own parser
(:func:`_parser`, loaded from the same tables by ``archdsl/syntax/tables.py``) is the reference and
what the formatter's concrete syntax uses (:func:`parse_tree`, :func:`build_ast`). Syntax errors
become E1xx diagnostics that say, in words, what was expected where (:mod:`archdsl.syntax.errors`).
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from archdsl.diagnostics import DiagnosticError, Span, error, line_col, normalize_source
from archdsl.syntax import ast
from archdsl.syntax.errors import KEYWORDS, syntax_diagnostic
from archdsl.syntax.fastbuild import FastParser
from archdsl.syntax.lalr import SyntaxFailure, Token, load_runtime

if TYPE_CHECKING:
    from lark import Lark, Tree

MAX_NUMBER_DIGITS = 18
MAX_SOURCE_BYTES = 4 * 1024 * 1024  # checked where text enters: archdsl/resolve/program.py
# Parsing costs a few µs a token (the LALR parser and the AST), so the size limit alone would let
# one file cost seconds and hundreds of megabytes; the token limit keeps a file to well under one.
MAX_TOKENS = 50_000
# roughly Lark's tokens (a comment or a string is one), counted before any parsing
_TOKEN_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[A-Za-z0-9_.]+|->|[=!<>]=|//|\*\*|[^\sA-Za-z0-9_.]')


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    """Lark's parser (the reference; the formatter's): imports Lark."""
    from archdsl.syntax.tables import make_parser

    return make_parser()  # from the shipped tables; never a cache file (see archdsl/syntax/tables.py)


@functools.lru_cache(maxsize=1)
def _fast_parser() -> FastParser:
    return FastParser(load_runtime())


_new = object.__new__


def _make_span(file: str, line: int, col: int, end_line: int, end_col: int) -> Span:
    """``Span(file, line, col, end_line, end_col)``: the very object (the same ``__dict__``, in the
    same order) without the frozen dataclass's ``__init__``, which sets each field through
    ``object.__setattr__``; a parse makes one or two a token."""
    s = _new(Span)
    d = s.__dict__
    d["file"] = file
    d["line"] = line
    d["col"] = col
    d["end_line"] = end_line
    d["end_col"] = end_col
    return s


def _span(file: str, tok) -> Span:
    """The span of a token (archdsl's or Lark's)."""
    return _make_span(file, tok.line, tok.column, tok.end_line, tok.end_column)


def _meta_span(file: str, m) -> Span:
    """The span of a rule's positions (a fastbuild node or Lark's ``Meta``)."""
    if getattr(m, "empty", False):
        return Span(file, 1, 1, 1, 1)
    return _make_span(file, m.line, m.column, m.end_line, m.end_column)


_LarkTree: type | None = None  # lark.Tree, set by build_ast (the only walk of Lark's trees)


def _parse_number(tok: Token, file: str) -> int | float:
    text = str(tok).replace("_", "")
    digits = re.sub(r"[eE][+-]?\d+$", "", text).replace(".", "")
    if len(digits) > MAX_NUMBER_DIGITS:
        raise error(
            "E103",
            f"number literal '{tok}' is too long",
            _span(file, tok),
            help=f"numbers have at most {MAX_NUMBER_DIGITS} digits",
        )
    if re.fullmatch(r"\d+", text):
        return int(text)
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise error("E103", f"number literal '{tok}' is out of range", _span(file, tok))
    exp = re.search(r"[eE]([+-]?\d+)$", text)
    if exp and abs(int(exp.group(1))) > 30:
        raise error(
            "E103", f"number literal '{tok}' is out of range", _span(file, tok), help="exponents are limited to ±30"
        )
    return value


def _unescape(tok: Token, file: str) -> str:
    body = str(tok)[1:-1]
    out, i = [], 0
    simple = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt not in simple:
                col = tok.column + 1 + i
                raise error(
                    "E104",
                    f"unknown escape sequence '\\{nxt}' in string",
                    Span(file, tok.line, col, tok.line, col + 2),
                    help='use \\n, \\t, \\" or \\\\',
                )
            out.append(simple[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class _ToAst:
    """Parse tree → AST, bottom-up: each rule's method gets the rule's meta (its positions) and its
    children already converted. A direct walk over the tree, as Lark's ``Transformer`` with
    ``v_args(meta=True)`` would do it (a rule without a method stays a ``Tree``, tokens stay tokens),
    without the wrapper objects that made that transformer cost a third of parsing; it recurses as
    deep as Lark's did (two frames a level), so the nesting that is E106 stays E106."""

    def __init__(self, file: str, text: str):
        self.file = file
        self.lines = text.split("\n")
        self._methods: dict[str, Any] = {}

    def transform(self, tree: Tree):
        methods = self._methods
        kids = [self.transform(c) if type(c) is _LarkTree else c for c in tree.children]
        f = methods.get(tree.data)
        if f is None:
            f = methods[tree.data] = getattr(self, tree.data, None) or functools.partial(_default, tree.data)
        return f(tree.meta, kids)

    def _one_per_line(self, items: list, what: str = "statements") -> None:
        """Statements need no separator, but two on one line are almost always a missing '->'."""
        prev = None
        for it in items:
            span = getattr(it, "span", None)
            if span is None:
                continue
            if prev is not None and span.line == prev.end_line:
                raise error(
                    "E108",
                    f"two {what} on one line",
                    Span(span.file, span.line, span.col, span.line, span.col + 1),
                    help="did you forget '->' between them? Otherwise put each on its own line",
                )
            prev = span

    def sp(self, meta) -> Span:
        return _meta_span(self.file, meta)

    def tsp(self, tok: Token) -> Span:
        return _span(self.file, tok)

    # -- module -----------------------------------------------------------------
    def start(self, meta, items):
        mod = ast.Module(self.file)
        for it in items:
            if isinstance(it, ast.Import):
                mod.imports.append(it)
            elif isinstance(it, ast.BlockDef):
                mod.blocks.append(it)
            elif isinstance(it, ast.NetDef):
                mod.nets.append(it)
            elif isinstance(it, ast.SpaceDef):
                mod.spaces.append(it)
        return mod

    def import_stmt(self, meta, ch):
        tok = ch[0]
        if tok.type == "STRING":
            return ast.Import(_unescape(tok, self.file), True, self.sp(meta))
        return ast.Import(str(tok), False, self.sp(meta))

    def _doc(self, line: int) -> str | None:
        """Comment lines directly above a definition are its documentation."""
        doc: list[str] = []
        i = line - 2
        while i >= 0 and self.lines[i].strip().startswith("#"):
            doc.append(self.lines[i].strip().lstrip("#").strip())
            i -= 1
        return "\n".join(reversed(doc)) or None

    def block_def(self, meta, ch):
        name = ch[0]
        params: tuple = ()
        rest = ch[1:]
        if rest and isinstance(rest[0], list):
            params = tuple(rest[0])
            rest = rest[1:]
        self._one_per_line(list(rest))
        return ast.BlockDef(str(name), params, tuple(rest), self.sp(meta), self.tsp(name), self._doc(meta.line))

    def net_def(self, meta, ch):
        name = ch[0]
        params: tuple = ()
        ext = None
        body: tuple = ()
        for c in ch[1:]:
            if isinstance(c, list):
                params = tuple(c)
            elif isinstance(c, ast.Extends):
                ext = c
            elif isinstance(c, tuple):
                body = c
        return ast.NetDef(str(name), params, ext, body, self.sp(meta), self.tsp(name), self._doc(meta.line))

    def space_def(self, meta, ch):
        name, ext, *items = ch
        self._one_per_line(items, "entries")
        entries = tuple(i for i in items if isinstance(i, ast.SpaceEntry))
        metas = tuple(i for i in items if isinstance(i, ast.MetaStmt))
        return ast.SpaceDef(str(name), ext, entries, metas, self.sp(meta), self.tsp(name), self._doc(meta.line))

    def space_entry(self, meta, ch):
        return ast.SpaceEntry(str(ch[0]), ch[1], self.sp(meta), self.tsp(ch[0]))

    def net_body(self, meta, ch):
        self._one_per_line(ch)
        return tuple(ch)

    def extends(self, meta, ch):
        args = ch[1] if len(ch) > 1 else ()
        return ast.Extends(str(ch[0]), tuple(args), self.sp(meta))

    def params(self, meta, ch):
        return list(ch)

    def param(self, meta, ch):
        return ast.Param(str(ch[0]), ch[1] if len(ch) > 1 else None, self.sp(meta))

    # -- statements -------------------------------------------------------------
    def input_stmt(self, meta, ch):
        return ast.InputStmt(self.sp(meta), str(ch[0]), ch[1])

    def shape(self, meta, ch):
        return tuple(ch)

    def meta_stmt(self, meta, ch):
        return ast.MetaStmt(self.sp(meta), tuple(ch))

    def meta_entry(self, meta, ch):
        return ast.MetaEntry(str(ch[0]), ch[1], self.sp(meta))

    def assign(self, meta, ch):
        return ast.Assign(self.sp(meta), str(ch[0]), ch[1], self.tsp(ch[0]))

    def pipeline_stmt(self, meta, ch):
        return ast.PipeStmt(self.sp(meta), ch[0])

    # -- pipelines --------------------------------------------------------------
    def pipeline(self, meta, ch):
        return ast.Pipeline(tuple(ch), self.sp(meta))

    def stage(self, meta, ch):
        element = ch[0]
        count = ch[1] if len(ch) > 1 else None
        first = ch[2] if len(ch) > 2 else None
        return ast.Stage(element, count, first, self.sp(meta))

    def first(self, meta, ch):
        return tuple(ch[0])

    def call(self, meta, ch):
        name = ch[0]
        args = tuple(ch[1]) if len(ch) > 1 else None
        return ast.Call(self.sp(meta), str(name), args, self.tsp(name))

    def call_args(self, meta, ch):
        return list(ch)

    def arg(self, meta, ch):
        return ast.Arg(None, ch[0], self.sp(meta))

    def kwarg(self, meta, ch):
        return ast.Arg(str(ch[0]), ch[1], self.sp(meta))

    def group(self, meta, ch):
        return ast.Group(self.sp(meta), ch[0], ch[1] if len(ch) > 1 else None)

    def columns(self, meta, ch):
        args: tuple = ()
        cols = []
        for c in ch:
            if isinstance(c, list):
                args = tuple(c)
            else:
                cols.append(c)
        self._one_per_line(cols, "columns")
        return ast.Columns(self.sp(meta), args, tuple(cols))

    def column(self, meta, ch):
        label = None
        cond = None
        rest = list(ch)
        if not isinstance(rest[0], ast.Pipeline):  # the label, a token
            label = str(rest.pop(0))
        pipe = rest.pop(0)
        if rest:
            cond = rest[0]
        return ast.Column(label, pipe, cond, self.sp(meta))

    def residual(self, meta, ch):
        args: tuple = ()
        rest = list(ch)
        if isinstance(rest[0], list):
            args = tuple(rest.pop(0))
        body = rest.pop(0)
        shortcut = rest[0] if rest else None
        return ast.Residual(self.sp(meta), args, body, shortcut)

    def shortcut(self, meta, ch):
        return ch[0]

    # -- expressions ------------------------------------------------------------
    def number(self, meta, ch):
        return ast.Num(self.tsp(ch[0]), _parse_number(ch[0], self.file))

    def string(self, meta, ch):
        return ast.Str(self.tsp(ch[0]), _unescape(ch[0], self.file))

    def true(self, meta, ch):
        return ast.Const(self.sp(meta), True)

    def false(self, meta, ch):
        return ast.Const(self.sp(meta), False)

    def none(self, meta, ch):
        return ast.Const(self.sp(meta), None)

    def name(self, meta, ch):
        return ast.Name(self.tsp(ch[0]), str(ch[0]))

    def attr(self, meta, ch):
        return ast.Attr(self.sp(meta), str(ch[0]), str(ch[1]))

    def fcall(self, meta, ch):
        args = tuple(a if isinstance(a, ast.Arg) else ast.Arg(None, a, a.span) for a in ch[1:])
        return ast.FCall(self.sp(meta), str(ch[0]), args, self.tsp(ch[0]))

    def binop(self, meta, ch):
        return ast.BinOp(self.sp(meta), str(ch[1]), ch[0], ch[2])

    def compare(self, meta, ch):
        return ast.BinOp(self.sp(meta), str(ch[1]), ch[0], ch[2])

    def unop(self, meta, ch):
        return ast.UnOp(self.sp(meta), str(ch[0]), ch[1])

    def or_(self, meta, ch):
        return ast.BoolOp(self.sp(meta), "or", (ch[0], ch[1]))

    def and_(self, meta, ch):
        return ast.BoolOp(self.sp(meta), "and", (ch[0], ch[1]))

    def not_(self, meta, ch):
        return ast.BoolOp(self.sp(meta), "not", (ch[0],))

    def ifexp(self, meta, ch):
        return ast.IfExp(self.sp(meta), ch[0], ch[1], ch[2])

    def tuple(self, meta, ch):
        return ast.Tuple(self.sp(meta), tuple(ch))


def _default(data, meta, children) -> Tree:
    from lark import Tree

    return Tree(data, children, meta)


def count_tokens(text: str, limit: int) -> tuple[int, int | None]:
    """The tokens of ``text`` (roughly as Lark counts them, at most ``limit`` + 1), and the offset of
    the first one past ``limit`` (None when there is none)."""
    total = _TOKEN_RE.subn("", text)[1]  # counted in C; the matches are not kept
    if total <= limit:
        return total, None
    n = 0
    for n, m in enumerate(_TOKEN_RE.finditer(text), 1):
        if n > limit:
            return n - 1, m.start()
    return n, None


def too_many_tokens(text: str, offset: int, file: str, message: str) -> DiagnosticError:
    """E105 at the token at ``offset`` of ``text``: the first one past the limit."""
    ln, cl = line_col(text, offset)
    m = _TOKEN_RE.match(text, offset)
    width = len(m.group()) if m else 1
    return error(
        "E105",
        message,
        Span(file, ln, cl, ln, cl + max(1, min(width, 40))),
        help=f"a spec has at most {MAX_TOKENS:,} names, numbers, strings and operators; split it up",
    )


def _check_tokens(text: str, file: str) -> None:
    if len(text) <= MAX_TOKENS:  # cannot hold more tokens than characters
        return
    _, over = count_tokens(text, MAX_TOKENS)
    if over is not None:
        raise too_many_tokens(text, over, file, f"the file has more than {MAX_TOKENS:,} tokens")


def parse_text(text: str, file: str = "<input>") -> ast.Module:
    """Parse one file's text. Raises :class:`DiagnosticError` on any syntax error.

    The text is normalised first (:func:`archdsl.diagnostics.normalize_source`: no leading BOM,
    ``\\n`` line ends), as the :class:`~archdsl.diagnostics.SourceMap` stores it, so that the lines
    and columns of diagnostics match the quoted lines whatever the file's line ends.
    """
    text = normalize_source(text)
    check_source(text, file)
    fast = _fast_parser()
    try:
        return fast.parse(text, _ToAst(file, text))  # the AST straight from the parser
    except SyntaxFailure as exc:
        raise DiagnosticError(syntax_diagnostic(exc, text, file, fast.terminals)) from None
    except RecursionError:
        raise error("E106", "the spec is nested too deeply", Span(file, 1, 1, 1, 2)) from None


def parse_tree(text: str) -> Tree:
    """Lark's parse tree of normalised, checked text (what :func:`build_ast` takes); raises Lark's
    exceptions. :func:`parse_text` builds the same AST without the tree."""
    return _parser().parse(text)


def check_source(text: str, file: str) -> None:
    """What is refused before any parsing: a NUL byte, more than :data:`MAX_TOKENS` tokens.
    ``text`` is normalised already."""
    if "\x00" in text:
        ln, cl = line_col(text, text.index("\x00"))
        raise error("E101", "unexpected NUL byte (is this a binary file?)", Span(file, ln, cl, ln, cl + 1))
    _check_tokens(text, file)


def build_ast(tree: Tree, text: str, file: str) -> ast.Module:
    """The AST of a Lark parse tree of ``text``; raises the E103/E104/E106/E108 diagnostics.

    Split from :func:`parse_text` for callers that parse by other means (``archdsl/syntax/concrete.py``
    keeps the token stream for the formatter) but must accept and refuse exactly what it does.
    """
    global _LarkTree
    from lark import Tree
    from lark.exceptions import VisitError

    _LarkTree = Tree
    try:
        return _ToAst(file, text).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, DiagnosticError):
            raise exc.orig_exc from None
        if isinstance(exc.orig_exc, RecursionError):
            raise error("E106", "the spec is nested too deeply", Span(file, 1, 1, 1, 2)) from None
        raise
    except RecursionError:
        raise error("E106", "the spec is nested too deeply", Span(file, 1, 1, 1, 2)) from None


__all__ = ["KEYWORDS", "MAX_SOURCE_BYTES", "MAX_TOKENS", "count_tokens", "parse_text", "too_many_tokens"]
