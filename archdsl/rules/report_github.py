"""GitHub Actions workflow commands: ``::error file=…,line=…,col=…,title=…::message``.

GitHub shows them as annotations on the pull request's diff. Severities map to ``error``,
``warning`` and ``notice``; the message and properties are escaped as the runner expects.
"""

from __future__ import annotations

from archdsl.diagnostics import Diagnostic, Severity
from archdsl.rules.engine import LintResult
from archdsl.rules.reporting import posix_uri

LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(s: str) -> str:
    return _data(s).replace(":", "%3A").replace(",", "%2C")


def annotation(d: Diagnostic, title: str) -> str:
    props = []
    if d.span is not None:
        props.append(f"file={_prop(posix_uri(d.span.file))}")
        if d.span.line > 0:
            props += [f"line={d.span.line}", f"col={d.span.col}"]
            if d.span.end_line >= d.span.line:
                props.append(f"endLine={d.span.end_line}")
                if d.span.end_line == d.span.line and d.span.end_col > d.span.col:
                    props.append(f"endColumn={d.span.end_col}")
    props.append(f"title={_prop(title)}")
    body = d.message + (f"\n{d.help}" if d.help else "")
    return f"::{LEVEL[d.severity]} {','.join(props)}::{_data(body)}"


def render(result: LintResult) -> str:
    lines = []
    for fr in result.files:
        for d in fr.spec_errors:
            lines.append(annotation(d, f"{d.code} (the spec does not compile)"))
        for f in fr.findings:
            lines.append(annotation(f.to_diagnostic(), f"{f.code} {f.name}"))
    return "".join(line + "\n" for line in lines)
