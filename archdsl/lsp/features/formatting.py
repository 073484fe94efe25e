"""Formatting: the document through ``archdsl fmt`` (:func:`archdsl.fmt.format_text`).

The formatter is imported when it is first asked for. Text that does not parse is left as it is
(the syntax error is already among the diagnostics); so is text the formatter would not change.
The edit replaces the whole document: the formatter's layout is canonical, there is nothing to
merge.
"""

from __future__ import annotations

from lsprotocol import types

from archdsl.diagnostics import DiagnosticError
from archdsl.lsp.documents import Document


class FormatterMissing(Exception):
    """``archdsl.fmt`` cannot be imported (an installation without the formatter)."""


def formatting(doc: Document, encoding: str) -> list[types.TextEdit] | None:
    try:
        from archdsl.fmt import format_text
    except ImportError as exc:
        raise FormatterMissing(str(exc)) from None
    try:
        new = format_text(doc.text, str(doc.path))
    except DiagnosticError:
        return None
    if new == doc.text:
        return []
    lines = doc.lines(encoding)
    end = lines.position(len(doc.text))
    whole = types.Range(start=types.Position(line=0, character=0), end=end)
    return [types.TextEdit(range=whole, new_text=new)]
