"""Output formats of ``archdsl lint``: one module per format, each a ``render(result, ...)``.

``text`` (ruff-like, with the source line and a caret), ``json``, ``sarif`` (SARIF 2.1.0 for
GitHub code scanning) and ``github`` (workflow annotations). Each has a snapshot test.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from archdsl.diagnostics import Severity
from archdsl.rules.engine import LintResult

FORMATS = ("text", "json", "sarif", "github")


def render(result: LintResult, fmt: str, color: bool = False) -> str:
    if fmt == "text":
        from archdsl.rules import report_text

        return report_text.render(result, color=color)
    if fmt == "json":
        from archdsl.rules import report_json

        return report_json.render(result)
    if fmt == "sarif":
        from archdsl.rules import report_sarif

        return report_sarif.render(result)
    if fmt == "github":
        from archdsl.rules import report_github

        return report_github.render(result)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def tool_version() -> str:
    """archdsl's version, from the installed distribution (the root package would pull in more)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("archdsl")
    except PackageNotFoundError:
        return "0+unknown"


def severity_counts(result: LintResult) -> Counter:
    return Counter(f.severity.value for f in result.findings)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def posix_uri(file: str) -> str:
    """A relative POSIX path for files under the current folder, else a file:// URI."""
    p = Path(file)
    if not p.is_absolute():
        return Path(os.path.normpath(p)).as_posix()
    try:
        return p.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.resolve().as_uri()


SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
