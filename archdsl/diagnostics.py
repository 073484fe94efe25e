"""Diagnostics: source spans, located messages, and how they are shown to a person.

Every user-facing error in archdsl is a :class:`Diagnostic` with a code, a span and an optional
help line. Rendering follows compilers (and ruff): ``file:line:col: error[CODE]: message``,
then the source line with a caret under the offending text. This module imports the stdlib only,
so that every layer can use it.

Spec text is normalised once where it enters (:func:`normalize_source`: a leading UTF-8 BOM
dropped, CRLF and CR-only line ends made ``\\n``), so Lark, :class:`SourceMap` and every
line/column agree: a line ends at ``\\n`` and nowhere else, a column counts characters. Text output
escapes control and invisible characters from a spec or a file name (:func:`printable`): a spec
cannot move the cursor, recolour or retitle the terminal, or hide text with bidirectional
overrides. Tabs in a quoted line are expanded, and the caret is placed on the expanded text.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Span:
    """A region of a source file; lines and columns are 1-based, the end column exclusive."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        if self.line <= 0:  # a whole-file location
            return self.file
        return f"{self.file}:{self.line}:{self.col}"

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "end_line": self.end_line,
            "end_col": self.end_col,
        }


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span | None
    severity: Severity = Severity.ERROR
    help: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "span": self.span.to_json() if self.span else None,
            "help": self.help,
            "notes": list(self.notes),
        }


class DiagnosticError(Exception):
    """Raised to stop processing; carries one or more diagnostics."""

    def __init__(self, diagnostics: Diagnostic | list[Diagnostic]):
        if isinstance(diagnostics, Diagnostic):
            diagnostics = [diagnostics]
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__("; ".join(f"{d.code}: {d.message}" for d in self.diagnostics))


def error(code: str, message: str, span: Span | None, help: str | None = None) -> DiagnosticError:
    """Build (not raise) a :class:`DiagnosticError` holding one error diagnostic."""
    return DiagnosticError(Diagnostic(code, message, span, Severity.ERROR, help))


def normalize_source(text: str) -> str:
    """Spec text as the parser sees it: no leading BOM, every line end ``\\n``. Idempotent."""
    if text.startswith("\ufeff"):
        text = text.lstrip("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def line_col(text: str, pos: int | None = None) -> tuple[int, int]:
    """The 1-based line and column of character ``pos`` (default: the end) of normalised ``text``."""
    pos = len(text) if pos is None else pos
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


class SourceMap:
    """The text of every file seen in a run, so diagnostics can quote their line."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._lines: dict[str, list[str]] = {}

    def add(self, file: str, text: str) -> None:
        text = normalize_source(text)
        if self._texts.get(file) != text:  # split once per file, not once per diagnostic
            self._lines.pop(file, None)
        self._texts[file] = text

    def line(self, file: str, line: int) -> str | None:
        lines = self._lines.get(file)
        if lines is None:
            text = self._texts.get(file)
            if text is None:
                return None
            lines = self._lines[file] = text.split("\n")  # the line ends Lark counts, and only those
        if 1 <= line <= len(lines):
            return lines[line - 1]
        return None


def did_you_mean(name: str, candidates: list[str] | set[str]) -> str | None:
    """A ``did you mean 'x'?`` help line, or None when nothing is close."""
    import difflib

    matches = difflib.get_close_matches(name, sorted(candidates), n=3, cutoff=0.6)
    if not matches:
        return None
    if len(matches) == 1:
        return f"did you mean '{matches[0]}'?"
    return "did you mean " + ", ".join(f"'{m}'" for m in matches[:-1]) + f" or '{matches[-1]}'?"


TAB_WIDTH = 4

# characters never sent raw to a terminal: controls (ESC, BEL, CR, DEL, C1), invisible format
# characters (bidirectional overrides, zero-width, BOM), line/paragraph separators, lone surrogates
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _escape(ch: str) -> str:
    if unicodedata.category(ch) not in _ESCAPED_CATEGORIES:
        return ch
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: control and invisible characters escaped (``\\x1b``)."""
    if text.isprintable():
        return text
    return "".join(_escape(ch) for ch in text)


def _width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _quoted(src: str) -> tuple[str, list[int]]:
    """A source line as shown (tabs expanded, controls escaped) and the display column at which each
    of its characters starts (one entry more, for the end of the line)."""
    shown: list[str] = []
    starts: list[int] = []
    col = 0
    for ch in src:
        starts.append(col)
        if ch == "\t":
            cell = " " * (TAB_WIDTH - col % TAB_WIDTH)
            col += len(cell)
        else:
            cell = _escape(ch)
            col += len(cell) if cell != ch else _width(ch)
        shown.append(cell)
    starts.append(col)
    return "".join(shown), starts


MAX_QUOTED = 160  # characters of a source line quoted around the caret


def _window(src: str, start: int, end: int) -> tuple[str, int, int, str, str]:
    """At most :data:`MAX_QUOTED` characters of a long line, around ``start:end``, with '...' marks."""
    if len(src) <= MAX_QUOTED:
        return src, start, end, "", ""
    lo = max(0, start - MAX_QUOTED // 3)
    hi = min(len(src), lo + MAX_QUOTED)
    end = min(end, hi)
    return src[lo:hi], start - lo, end - lo, "..." if lo else "", "..." if hi < len(src) else ""


def render_text(diag: Diagnostic, sources: SourceMap | None = None, color: bool = False) -> str:
    """Render one diagnostic the way compilers do, caret included; spec text is escaped."""

    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    sev_color = {"error": "1;31", "warning": "1;33", "info": "1;36"}[diag.severity.value]
    where = f"{printable(str(diag.span))}: " if diag.span else ""
    head = (
        f"{paint(where, '1')}{paint(diag.severity.value + '[' + diag.code + ']', sev_color)}: {printable(diag.message)}"
    )
    out = [head]
    if diag.span and diag.span.line > 0 and sources is not None:
        src = sources.line(diag.span.file, diag.span.line)
        if src is not None:
            num = str(diag.span.line)
            pad = " " * len(num)
            start = min(max(diag.span.col - 1, 0), len(src))
            if diag.span.end_line == diag.span.line and diag.span.end_col > diag.span.col:
                end = diag.span.end_col - 1
            else:
                end = len(src.rstrip())
            end = min(end, len(src))
            src, start, end, before, after = _window(src, start, end)
            shown, starts = _quoted(src)
            shown = before + shown + after
            offset = len(before) + starts[start]
            width = max(starts[end] - starts[start], 1) if end > start else 1
            out.append(f"{pad} |")
            out.append(f"{num} | {shown}")
            out.append(f"{pad} | {' ' * offset}{paint('^' * width, sev_color)}")
    for note in diag.notes:
        out.append(f"  = note: {printable(note)}")
    if diag.help:
        out.append(f"  = help: {printable(diag.help)}")
    return "\n".join(out)


def render_json(diags: list[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in diags], indent=2, sort_keys=True)
