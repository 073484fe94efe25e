"""Syntax errors in words: what the parser met, what it expected (``expected ')' or ','``), the
bracket left open at the end of the file, reserved words used as names.

The errors come from archdsl's parser (:mod:`archdsl.syntax.lalr`) or, on the reference path, from
Lark's; both carry the same attributes. Lark is not imported for archdsl's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from archdsl.diagnostics import Diagnostic, Span

if TYPE_CHECKING:
    from lark.lexer import TerminalDef

KEYWORDS = [
    "import",
    "block",
    "net",
    "extends",
    "input",
    "meta",
    "columns",
    "residual",
    "shortcut",
    "first",
    "if",
    "else",
    "and",
    "or",
    "not",
    "true",
    "false",
    "none",
]

_TERMINAL_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a string",
    "COMP_OP": "a comparison",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*', '/', '//' or '%'",
    "POW_OP": "'**'",
    "$END": "end of file",
}


def _terminal_names(terminals: Sequence[TerminalDef]) -> dict[str, str]:
    names = {}
    for term in terminals:
        if term.name in _TERMINAL_WORDS:
            names[term.name] = _TERMINAL_WORDS[term.name]
        elif term.pattern.type == "str":
            names[term.name] = f"'{term.pattern.value}'"
        else:
            names[term.name] = term.name.lower()
    names["$END"] = "end of file"
    return names


def describe_expected(expected: set[str] | list[str], terminals: Sequence[TerminalDef]) -> str:
    """What the parser expected, in words: 'an expression', "')' or ','" ..."""
    names = _terminal_names(terminals)
    words = sorted({names.get(t, t) for t in expected})
    expr_words = {"a name", "a number", "a string"}
    if expr_words <= set(words):
        words = ["an expression"] + [
            w for w in words if w not in expr_words | {"'+' or '-'", "'('", "'true'", "'false'", "'none'", "'not'"}
        ]
    operators = {"'+' or '-'", "'*', '/', '//' or '%'", "'**'", "a comparison", "'and'", "'or'", "'if'"}
    if len(operators & set(words)) >= 3:
        words = [w for w in words if w not in operators] + ["an operator"]
    if not words:
        return "something else"
    if len(words) > 8:
        words = [*words[:8], "..."]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _token_text(tok) -> str:
    if tok.type == "$END":
        return "end of file"
    return f"'{tok}'"


def _unclosed_note(text: str, file: str) -> str | None:
    """Find the last bracket left open, for errors at end of file."""
    stack: list[tuple[str, int, int]] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    line, col = 1, 1
    in_comment = in_string = False
    for ch in text:
        if in_comment:
            if ch == "\n":
                in_comment = False
        elif in_string:
            if ch == '"' or ch == "\n":
                in_string = False
        elif ch == "#":
            in_comment = True
        elif ch == '"':
            in_string = True
        elif ch in "([{":
            stack.append((ch, line, col))
        elif ch in ")]}" and stack and stack[-1][0] == pairs[ch]:
            stack.pop()
        if ch == "\n":
            line, col = line + 1, 1
        else:
            col += 1
    if stack:
        ch, ln, cl = stack[-1]
        return f"the '{ch}' opened at {file}:{ln}:{cl} is never closed"
    return None


def _kind(exc: Any) -> str:
    """ "chars", "token", "eof" or "" (archdsl's errors say it; Lark's by their class)."""
    kind = getattr(exc, "kind", None)
    if kind is not None:
        return kind
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(exc, UnexpectedCharacters):
        return "chars"
    if isinstance(exc, UnexpectedToken):
        return "token"
    return "eof" if isinstance(exc, UnexpectedEOF) else ""


def syntax_diagnostic(exc: Any, text: str, file: str, terminals: Sequence[TerminalDef]) -> Diagnostic:
    """The diagnostic for a syntax error (archdsl's :class:`archdsl.syntax.lalr.SyntaxFailure` or
    Lark's ``UnexpectedInput``); ``terminals`` are the parser's."""
    line = getattr(exc, "line", 1) or 1
    col = getattr(exc, "column", 1) or 1
    kind = _kind(exc)
    if kind == "chars":
        ch = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else "?"
        help = None
        if ch == "'":
            help = 'strings use double quotes: "like this"'
        elif ch in "{}[]()" or exc.allowed:
            help = f"expected {describe_expected(exc.allowed, terminals)}" if exc.allowed else None
        return Diagnostic("E101", f"unexpected character '{ch}'", Span(file, line, col, line, col + 1), help=help)
    if kind in ("token", "eof"):
        tok = getattr(exc, "token", None)
        expected = set(getattr(exc, "expected", None) or getattr(exc, "accepts", None) or [])
        if kind == "token" and exc.accepts:
            expected = set(exc.accepts)
        at_end = tok is None or tok.type == "$END"
        notes: tuple[str, ...] = ()
        if at_end:
            lines = text.split("\n")
            if len(lines) > 1 and not lines[-1]:
                lines.pop()  # the newline that ends the last line
            line = len(lines)
            col = len(lines[-1]) + 1
            note = _unclosed_note(text, file)
            notes = (note,) if note else ()
            return Diagnostic(
                "E102",
                "unexpected end of file",
                Span(file, line, max(col - 1, 1), line, col),
                help=f"expected {describe_expected(expected, terminals)}",
                notes=notes,
            )
        end_col = col + max(len(str(tok)), 1) if tok.end_line == tok.line else col + 1
        msg = f"unexpected {_token_text(tok)}"
        lines = text.split("\n")
        line_text = lines[line - 1] if line - 1 < len(lines) else ""
        before = line_text[: col - 1].split()
        if str(tok) == "=" and before and before[-1] in KEYWORDS:
            word = before[-1]
            start = line_text.rfind(word, 0, col - 1) + 1
            return Diagnostic(
                "E100",
                f"'{word}' is a reserved word and cannot be used as a name",
                Span(file, line, start, line, start + len(word)),
                help="choose another name",
            )
        if tok.type == "NAME" and str(tok) in KEYWORDS:
            msg = f"unexpected keyword '{tok}'"
        help = f"expected {describe_expected(expected, terminals)}"
        if tok.type == "NAME" and str(tok) in KEYWORDS and "NAME" in expected:
            help += f"; '{tok}' is a reserved word and cannot be used as a name"
        return Diagnostic("E100", msg, Span(file, line, col, line, end_col), help=help)
    return Diagnostic("E100", "syntax error", Span(file, line, col, line, col + 1))
