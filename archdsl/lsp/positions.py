"""Positions: archdsl :class:`~archdsl.diagnostics.Span` ↔ LSP ``Position``/``Range``.

A span counts lines and columns from 1 in Unicode code points of the *normalised* text (no
leading BOM, every line end ``\\n``), its end column exclusive. LSP counts both from 0, and a
column in code units of the encoding the client and server agreed on: UTF-16 unless the client
offers another (``general.positionEncodings``), so a character outside the Basic Multilingual
Plane (an emoji in a comment) is two units. LSP line ends are ``\\n``, ``\\r\\n`` and ``\\r``,
the ones ``normalize_source`` turns into ``\\n``, so line numbers agree; columns differ only on
the first line of a text that starts with a BOM, which the parser does not see.

:class:`LineIndex` holds the line starts of one raw document text (as the client sent it) and
converts in both directions, line by line (ASCII lines take a fast path). It also applies the
client's incremental changes (:func:`apply_change`), with the same line model, instead of pygls's
(which splits lines at every character Python calls a line break).
"""

from __future__ import annotations

import re

from lsprotocol import types

from archdsl.diagnostics import Span

_EOL = re.compile(r"\r\n|\r|\n")
UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"


def units(s: str, encoding: str) -> int:
    """Code units of ``s`` in ``encoding``."""
    if encoding == UTF32 or s.isascii():
        return len(s)
    if encoding == UTF8:
        return len(s.encode("utf-8", "surrogatepass"))
    return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)


def _chars(line: str, units: int, encoding: str) -> int:
    """Code points of ``line`` that make up its first ``units`` code units (clamped to the line)."""
    if units <= 0:
        return 0
    if encoding == UTF32 or line.isascii():
        return min(units, len(line))
    seen = 0
    for i, ch in enumerate(line):
        if seen >= units:
            return i
        o = ord(ch)
        if encoding == UTF8:
            seen += 1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4
        else:
            seen += 2 if o > 0xFFFF else 1
    return len(line)


class LineIndex:
    """Line starts of a raw text, for conversions between offsets, spans and LSP positions."""

    def __init__(self, text: str, encoding: str = UTF16):
        self.text = text
        self.encoding = encoding
        self.starts = [0]
        self.starts.extend(m.end() for m in _EOL.finditer(text))
        self.bom = len(text) - len(text.lstrip("\ufeff"))  # what normalize_source drops at the start

    @property
    def line_count(self) -> int:
        return len(self.starts)

    def line(self, i: int) -> str:
        """Line ``i`` (0-based) without its line end; '' past the end."""
        if not 0 <= i < len(self.starts):
            return ""
        a = self.starts[i]
        b = self.starts[i + 1] if i + 1 < len(self.starts) else len(self.text)
        s = self.text[a:b]
        if s.endswith("\n"):
            s = s[:-2] if s.endswith("\r\n") else s[:-1]
        elif s.endswith("\r"):
            s = s[:-1]
        return s

    # ---- LSP positions ------------------------------------------------------------------
    def offset(self, pos: types.Position) -> int:
        """The raw offset of an LSP position, clamped into the text."""
        if pos.line >= len(self.starts):
            return len(self.text)
        line = max(pos.line, 0)
        return self.starts[line] + _chars(self.line(line), pos.character, self.encoding)

    def position(self, offset: int) -> types.Position:
        """The LSP position of a raw offset."""
        import bisect

        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        text = self.line(line)
        col = min(offset - self.starts[line], len(text))
        return types.Position(line=line, character=units(text[:col], self.encoding))

    # ---- archdsl spans ------------------------------------------------------------------
    def _lsp(self, line: int, col: int) -> types.Position:
        """1-based line and column of the normalised text → LSP position."""
        if line <= 0:
            return types.Position(line=0, character=0)
        if line > len(self.starts):
            last = len(self.starts) - 1
            return types.Position(line=last, character=units(self.line(last), self.encoding))
        text = self.line(line - 1)
        cp = max(col - 1, 0) + (self.bom if line == 1 else 0)
        cp = min(cp, len(text))
        return types.Position(line=line - 1, character=units(text[:cp], self.encoding))

    def range(self, span: Span | None) -> types.Range:
        """The LSP range of a span (a whole-file span, or none, is the start of the file)."""
        if span is None or span.line <= 0:
            zero = types.Position(line=0, character=0)
            return types.Range(start=zero, end=zero)
        start = self._lsp(span.line, span.col)
        end = self._lsp(span.end_line, span.end_col) if span.end_line > 0 else start
        if (end.line, end.character) < (start.line, start.character):
            end = start
        return types.Range(start=start, end=end)

    def point(self, pos: types.Position) -> tuple[int, int]:
        """An LSP position → 1-based (line, column) of the normalised text, as spans count them."""
        line = min(max(pos.line, 0), len(self.starts) - 1)
        text = self.line(line)
        cp = _chars(text, pos.character, self.encoding)
        if line == 0:
            cp = max(cp - self.bom, 0)
        return line + 1, cp + 1


def contains(span: Span | None, line: int, col: int) -> bool:
    """Is the 1-based (line, col) inside ``span`` (its end included, for a cursor just after a name)?"""
    if span is None or span.line <= 0:
        return False
    return (span.line, span.col) <= (line, col) <= (span.end_line, span.end_col)


def span_size(span: Span) -> tuple[int, int]:
    """A sort key: smaller spans first (lines, then columns)."""
    return (span.end_line - span.line, span.end_col - span.col if span.end_line == span.line else 10**9)


def apply_change(text: str, change, encoding: str = UTF16) -> str:
    """The text after one ``TextDocumentContentChangeEvent`` (a ranged edit, or the whole text)."""
    rng = getattr(change, "range", None)
    if rng is None:
        return change.text
    idx = LineIndex(text, encoding)
    a, b = idx.offset(rng.start), idx.offset(rng.end)
    if b < a:
        a, b = b, a
    return text[:a] + change.text + text[b:]
