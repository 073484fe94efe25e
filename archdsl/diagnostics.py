"""Diagnostics: source spans, located messages, and how they are shown to a person.

Every user-facing error in archdsl is a :class:`Diagnostic` with a code, a span and an optional
help line. Rendering follows compilers (and ruff): ``file:line:col: error[CODE]: message``,
then the source line with a caret under the offending text. This module imports the stdlib only,
so that every layer can use it.
"""

from __future__ import annotations

import json
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


class SourceMap:
    """The text of every file seen in a run, so diagnostics can quote their line."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._lines: dict[str, list[str]] = {}  # split once per file, not once per diagnostic

    def add(self, file: str, text: str) -> None:
        if self._texts.get(file) is not text:
            self._lines.pop(file, None)
        self._texts[file] = text

    def line(self, file: str, line: int) -> str | None:
        text = self._texts.get(file)
        if text is None:
            return None
        lines = self._lines.get(file)
        if lines is None:
            lines = self._lines[file] = text.splitlines()
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


def render_text(diag: Diagnostic, sources: SourceMap | None = None, color: bool = False) -> str:
    """Render one diagnostic the way compilers do, caret included."""

    def paint(text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    sev_color = {"error": "1;31", "warning": "1;33", "info": "1;36"}[diag.severity.value]
    where = f"{diag.span}: " if diag.span else ""
    head = f"{paint(where, '1')}{paint(diag.severity.value + '[' + diag.code + ']', sev_color)}: {diag.message}"
    out = [head]
    if diag.span and diag.span.line > 0 and sources is not None:
        src = sources.line(diag.span.file, diag.span.line)
        if src is not None:
            num = str(diag.span.line)
            pad = " " * len(num)
            start = max(diag.span.col - 1, 0)
            if diag.span.end_line == diag.span.line and diag.span.end_col > diag.span.col:
                width = diag.span.end_col - diag.span.col
            else:
                width = max(len(src.rstrip()) - start, 1)
            width = max(1, min(width, max(len(src) - start, 1)))
            out.append(f"{pad} |")
            out.append(f"{num} | {src}")
            out.append(f"{pad} | {' ' * start}{paint('^' * width, sev_color)}")
    for note in diag.notes:
        out.append(f"  = note: {note}")
    if diag.help:
        out.append(f"  = help: {diag.help}")
    return "\n".join(out)


def render_json(diags: list[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in diags], indent=2, sort_keys=True)
