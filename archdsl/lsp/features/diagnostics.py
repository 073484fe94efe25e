"""Diagnostics: the errors of ``archdsl check`` and the findings of ``archdsl lint``, as LSP wants them.

Each keeps its code and message; notes and the help line follow on lines of their own, written
as the terminal shows them (``= note: …``, ``= help: …``). A lint finding links to its rule's page
(``docs/rules/CODE.md``), a compiler error to the table of error codes (``docs/language.md``),
from the ``docsUrl`` initialisation option or, in a source checkout, the ``docs`` folder beside the
package. ``data`` carries what the code actions need (the code, the rule name, the help line).

A diagnostic about another file (an imported spec, a block of the standard library) is shown at
the place in this file that led there, the use its notes name (``used at FILE:LINE:COL``) or the
import of that file, with the original location as related information.
"""

from __future__ import annotations

import re
from pathlib import Path

from lsprotocol import types

from archdsl.diagnostics import Diagnostic, Severity, Span
from archdsl.lsp.analysis import Analysis
from archdsl.lsp.documents import label_uri
from archdsl.lsp.positions import LineIndex, units

SOURCE = "archdsl"
_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}


def default_docs_url() -> str | None:
    """The ``docs/`` folder of a source checkout (an editable install), as a file URI ending in '/'."""
    docs = Path(__file__).resolve().parents[3] / "docs"
    if (docs / "rules").is_dir() and (docs / "language.md").is_file():
        return docs.as_uri() + "/"
    return None


def doc_link(code: str, base: str | None, rule: bool) -> types.CodeDescription | None:
    if not base:
        return None
    href = f"{base}rules/{code}.md" if rule else f"{base}language.md#error-codes"
    return types.CodeDescription(href=href)


def message(d: Diagnostic) -> str:
    lines = [d.message]
    lines += [f"= note: {n}" for n in d.notes]
    if d.help:
        lines.append(f"= help: {d.help}")
    return "\n".join(lines)


def _foreign_range(d: Diagnostic, analysis: Analysis, lines: LineIndex) -> types.Range:
    """Where in this file a diagnostic about another file belongs."""
    label = analysis.label
    pat = re.compile(re.escape(label) + r":(\d+):(\d+)")
    for note in d.notes:
        m = pat.search(note)
        if m:
            ln, col = int(m.group(1)), int(m.group(2))
            word = re.match(r"[A-Za-z_][A-Za-z0-9_]*", lines.line(ln - 1)[col - 1 :] if ln >= 1 else "")
            return lines.range(Span(label, ln, col, ln, col + (len(word.group()) if word else 1)))
    mod = analysis.module
    if mod is not None and d.span is not None:
        for imp in mod.imports:
            if imp.is_path and Path(d.span.file).name == Path(imp.target).name:
                return lines.range(imp.span)
    return lines.range(None)


def _other_location(d: Diagnostic, analysis: Analysis) -> types.Location | None:
    span = d.span
    uri = label_uri(span.file) if span is not None else None
    if uri is None or span is None or span.line <= 0:
        return None
    src = analysis.sources.line(span.file, span.line) if analysis.sources is not None else None
    text = src or ""
    a = units(text[: max(span.col - 1, 0)], "utf-16")
    b = units(text[: max(span.end_col - 1, 0)], "utf-16") if span.end_line == span.line else a
    return types.Location(
        uri=uri,
        range=types.Range(
            start=types.Position(line=span.line - 1, character=a),
            end=types.Position(line=span.end_line - 1, character=max(a, b)),
        ),
    )


def to_lsp(
    d: Diagnostic, analysis: Analysis, lines: LineIndex, docs: str | None, rule: str | None = None
) -> types.Diagnostic:
    here = d.span is None or d.span.file == analysis.label or d.span.line <= 0
    rng = lines.range(d.span) if here else _foreign_range(d, analysis, lines)
    related = None
    if not here:
        loc = _other_location(d, analysis)
        if loc is not None:
            related = [types.DiagnosticRelatedInformation(location=loc, message=f"{d.code} is here: {d.span}")]
    return types.Diagnostic(
        range=rng,
        message=message(d),
        severity=_SEVERITY.get(d.severity, types.DiagnosticSeverity.Error),
        code=d.code,
        code_description=doc_link(d.code, docs, rule is not None),
        source=SOURCE,
        related_information=related,
        data={"code": d.code, "rule": rule, "help": d.help, "line": d.span.line if d.span else 0},
    )


def diagnostics(analysis: Analysis, lines: LineIndex, docs: str | None) -> list[types.Diagnostic]:
    """Every diagnostic of an analysis: the compiler's errors, then (if none) the lint findings."""
    out = [to_lsp(d, analysis, lines, docs) for d in analysis.errors]
    out += [to_lsp(f.to_diagnostic(), analysis, lines, docs, rule=f.name or f.code) for f in analysis.findings]
    return out
