"""``archdsl fmt``: the one canonical layout of archdsl specs (docs/fmt.md).

Built on the concrete syntax, not the IR: every token and every comment of the file is printed
back, in order, and nothing else. The pieces, each in a module of its own:

- ``archdsl/syntax/concrete.py``: the parse that keeps every token and comment;
- :mod:`archdsl.fmt.cst`: the tree with its tokens put back and the comments attached to them;
- :mod:`archdsl.fmt.layout`: the layout rules (a generic one for any node, and a few specific ones);
- :mod:`archdsl.fmt.doc` and :mod:`archdsl.fmt.printer`: the layout document and the printer that
  breaks lines at :data:`LINE_WIDTH`.

:func:`format_text` is the API (the CLI and the language server call it). There are no options:
like ``gofmt``, ``terraform fmt`` and ``buf format``, one layout for every spec.
"""

from __future__ import annotations

import re

from archdsl.diagnostics import Span, error
from archdsl.fmt.cst import build
from archdsl.fmt.layout import Layout
from archdsl.fmt.printer import render
from archdsl.syntax.concrete import parse_concrete

__all__ = ["LINE_WIDTH", "format_text"]

# The line width: specs and the std library were written to about 100 columns (hand-wrapped just
# below it), which leaves room for a trailing comment inside the 120 columns of the Python code
# and keeps two specs side by side readable in a diff.
LINE_WIDTH = 100

# what formatting may not change: strings, comments (trailing spaces aside), words and other characters
_UNITS = re.compile(r'"[^"\\\n]*(?:\\.[^"\\\n]*)*"|#[^\n]*|[A-Za-z0-9_]+|\S')


def format_text(text: str, file: str = "<stdin>") -> str:
    """``text`` in the canonical layout (UTF-8 text with ``\\n`` line ends, ending in one newline).

    Raises :class:`archdsl.diagnostics.DiagnosticError` with the located syntax errors when the
    text does not parse (the same diagnostics as ``archdsl check``); ``file`` names it in them.
    """
    parsed = parse_concrete(text, file)
    try:
        cst = build(parsed)
        out = render(Layout(cst).node(cst.root), LINE_WIDTH)
    except RecursionError:
        raise error("E106", "the spec is nested too deeply", Span(file, 1, 1, 1, 2)) from None
    if cst.leading or cst.trailing or _units(out) != _expected(parsed):  # pragma: no cover
        raise AssertionError("the formatter would change more than the layout; the text is left as it was")
    return out


def _units(text: str) -> list[str]:
    return [m.group().rstrip() for m in _UNITS.finditer(text)]


def _expected(parsed) -> list[str]:
    """The units of the tokens and comments of ``parsed``, in order (a token may hold several:
    ``1e-5``; two may touch in the source and need a space between: ``importd`` is ``import d``)."""
    pieces = [(t.start_pos, str(t)) for t in parsed.tokens] + [(c.offset, c.text) for c in parsed.comments]
    return [u for _, text in sorted(pieces) for u in _units(text)]
