"""The JSON format: one object with the findings, the compiler errors and a summary."""

from __future__ import annotations

import json

from archdsl.rules.engine import LintResult
from archdsl.rules.reporting import severity_counts, tool_version


def render(result: LintResult) -> str:
    sev = severity_counts(result)
    doc = {
        "version": 1,
        "tool": {"name": "archdsl", "version": tool_version()},
        "findings": [f.to_json() for f in result.findings],
        "spec_errors": [d.to_json() for d in result.spec_errors],
        "internal_errors": list(result.internal_errors),
        "summary": {
            "files": len(result.files),
            "nets": sum(fr.nets for fr in result.files),
            "rules": [r.code for r in result.rules],
            "findings": len(result.findings),
            "errors": sev["error"],
            "warnings": sev["warning"],
            "info": sev["info"],
            "suppressed": sum(fr.suppressed for fr in result.files),
            "files_not_compiling": sum(1 for fr in result.files if fr.spec_errors),
            "failed": result.failed,
        },
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
