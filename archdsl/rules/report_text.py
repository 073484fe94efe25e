"""The human format: ``file:line:col: severity[CODE]: message``, the source line and a caret
(as the compiler prints its errors), then a summary with counts per rule."""

from __future__ import annotations

from collections import Counter

from archdsl.diagnostics import render_text
from archdsl.rules.engine import LintResult
from archdsl.rules.reporting import plural


def render(result: LintResult, color: bool = False) -> str:
    out: list[str] = []
    for fr in result.files:
        for d in fr.spec_errors:
            out.append(render_text(d, result.sources, color=color))
        for f in fr.findings:
            out.append(render_text(f.to_diagnostic(), result.sources, color=color))
    if out:
        out.append("")
    out.append(summary(result))
    return "\n".join(out) + "\n"


def summary(result: LintResult) -> str:
    findings = result.findings
    files = len(result.files)
    broken = [fr for fr in result.files if fr.spec_errors]
    suppressed = sum(fr.suppressed for fr in result.files)
    lines = []
    if findings:
        sev = Counter(f.severity.value for f in findings)
        parts = [plural(sev[s], s) for s in ("error", "warning", "info") if sev[s]]
        with_findings = sum(1 for fr in result.files if fr.findings)
        lines.append(
            f"Found {plural(len(findings), 'finding')} ({', '.join(parts)}) in "
            f"{plural(with_findings, 'file')} of {files} linted"
            + (f"; {suppressed} suppressed by noqa." if suppressed else ".")
        )
        by_code = Counter(f.code for f in findings)
        names = {f.code: f.name for f in findings}
        width = max(len(str(n)) for n in by_code.values())
        for code, n in sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {n:>{width}}  {code}  {names[code]}")
        lines.append("Run `archdsl rule CODE` for a rule's documentation.")
    elif files > len(broken):
        nets = sum(fr.nets for fr in result.files)
        ok = files - len(broken)
        lines.append(
            f"All clean: {plural(ok, 'file')}, {plural(nets, 'net')}, {plural(len(result.rules), 'rule')}"
            + (f" ({suppressed} suppressed by noqa)." if suppressed else ".")
        )
    if broken:
        n_err = sum(len(fr.spec_errors) for fr in broken)
        lines.append(
            f"{plural(len(broken), 'file')} did not compile ({plural(n_err, 'error')}); "
            "they were not linted (see `archdsl check`)."
        )
    return "\n".join(lines)
