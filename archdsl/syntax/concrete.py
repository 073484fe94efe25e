"""The concrete syntax of a spec: Lark's parse tree, every token it was made of, and the comments.

The AST (``archdsl/syntax/ast.py``) keeps what a spec means. The formatter (``archdsl/fmt/``) and
editor tooling need what it says: every token, punctuation included (Lark drops anonymous tokens
such as ``(`` and ``->`` from its tree), and the comments, which the grammar ignores.

:func:`parse_concrete` parses with the one parser archdsl uses (the shipped LALR tables, the
contextual lexer: see ``archdsl/syntax/tables.py``) through Lark's interactive interface, which
hands over each token as the parser takes it. That is the token stream exactly as the parser saw
it (``first`` is a keyword after a call, a name at the start of a statement). Between two
consecutive tokens lies only ignored text, whitespace and comments, so the comments are read from
those gaps with their positions; anything else there would be text the formatter does not know and
is refused rather than dropped. It accepts and refuses exactly what :func:`parse_text` does (the
same checks, the same diagnostics) and builds the AST too, so one parse serves both.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from archdsl.diagnostics import Span, normalize_source
from archdsl.syntax import ast
from archdsl.syntax.parser import _parser, build_ast, check_source, error, parse_text

__all__ = ["Comment", "Concrete", "parse_concrete"]

_GAP_RE = re.compile(r"#[^\n]*|\S")


@dataclass(frozen=True)
class Comment:
    """A ``# ...`` comment: its text (``#`` included, trailing whitespace removed) and where it starts."""

    text: str
    offset: int
    line: int
    col: int


@dataclass(frozen=True)
class Concrete:
    """One parsed file: its normalised text, the parse tree, the tokens in order, the comments and the AST."""

    text: str
    tree: Tree
    tokens: list[Token]
    comments: list[Comment]
    module: ast.Module


def parse_concrete(text: str, file: str = "<input>") -> Concrete:
    """Parse ``text`` keeping every token and comment. Raises :class:`DiagnosticError` as
    :func:`archdsl.syntax.parse_text` does, with the same located diagnostics."""
    text = normalize_source(text)
    check_source(text, file)
    tokens: list[Token] = []
    try:
        session = _parser().parse_interactive(text)
        for tok in session.iter_parse():
            tokens.append(tok)
        tree = session.feed_eof(tokens[-1] if tokens else None)
    except UnexpectedInput:
        parse_text(text, file)  # raises the syntax error, worded as everywhere else
        raise AssertionError("the interactive parse failed where the parser succeeds") from None
    except RecursionError:
        raise error("E106", "the spec is nested too deeply", Span(file, 1, 1, 1, 2)) from None
    module = build_ast(tree, text, file)
    return Concrete(text, tree, tokens, _comments(text, tokens), module)


def _comments(text: str, tokens: list[Token]) -> list[Comment]:
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    bounds = [0]
    for tok in tokens:
        bounds += [tok.start_pos, tok.end_pos]
    bounds.append(len(text))
    out: list[Comment] = []
    for lo, hi in zip(bounds[::2], bounds[1::2], strict=True):
        for m in _GAP_RE.finditer(text, lo, hi):
            if not m.group().startswith("#"):
                raise AssertionError(f"unexpected text {m.group()!r} between tokens at offset {m.start()}")
            line = bisect.bisect_right(starts, m.start())
            out.append(Comment(m.group().rstrip(), m.start(), line, m.start() - starts[line - 1] + 1))
    return out
