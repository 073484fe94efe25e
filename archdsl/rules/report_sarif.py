"""SARIF 2.1.0 for GitHub code scanning.

One run; ``tool.driver.rules`` describes every rule that ran (id, name, short and full
description, help as text and markdown, default level, tags), and each result carries its
``ruleId``/``ruleIndex``, ``level``, ``message`` and a physical location with a region (start
line and column, end line and column; columns count Unicode code points). Paths are relative to the
current folder (the repository root in CI) with ``uriBaseId`` ``%SRCROOT%``. Compiler errors
become results of rules named after their codes. Validated against the OASIS schema in the tests.
"""

from __future__ import annotations

import json

from archdsl.diagnostics import Diagnostic
from archdsl.rules.engine import LintResult
from archdsl.rules.reporting import SARIF_LEVEL, posix_uri, tool_version

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _rule_descriptor(rule) -> dict:
    from archdsl.rules.docs import rule_markdown

    doc = rule.doc()
    what = " ".join(doc["What it does"].split())
    why = " ".join(doc["Why is this bad?"].split())
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": doc.summary},
        "fullDescription": {"text": what},
        "help": {"text": f"{what}\n\nWhy is this bad? {why}", "markdown": rule_markdown(rule)},
        "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity]},
        "properties": {"tags": ["archdsl", rule.family()], "precision": "high"},
    }


def _compiler_descriptor(code: str) -> dict:
    return {
        "id": code,
        "name": "spec-does-not-compile",
        "shortDescription": {"text": "The spec does not compile."},
        "fullDescription": {"text": f"archdsl compiler diagnostic {code}: the spec has an error and was not linted."},
        "help": {"text": "Fix the error; `archdsl check SPEC` prints every compiler diagnostic with its help."},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["archdsl", "compiler"]},
    }


def _location(d: Diagnostic, file: str) -> list[dict]:
    """One physical location; a diagnostic about a whole file (no line) points at its first line."""
    span = d.span
    phys: dict = {"artifactLocation": {"uri": posix_uri(span.file if span else file), "uriBaseId": "%SRCROOT%"}}
    if span is None or span.line <= 0:
        phys["region"] = {"startLine": 1, "startColumn": 1}
        return [{"physicalLocation": phys}]
    region = {"startLine": span.line, "startColumn": max(span.col, 1)}
    if span.end_line >= span.line:
        region["endLine"] = span.end_line
        if span.end_col > 0 and (span.end_line > span.line or span.end_col > span.col):
            region["endColumn"] = span.end_col
    phys["region"] = region
    return [{"physicalLocation": phys}]


def _message(d: Diagnostic) -> str:
    text = d.message
    for note in d.notes:
        text += f"\nnote: {note}"
    if d.help:
        text += f"\nhelp: {d.help}"
    return text


def render(result: LintResult) -> str:
    rules = [_rule_descriptor(r) for r in result.rules]
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = []
    for fr in result.files:
        for d in fr.spec_errors:
            if d.code not in index:
                index[d.code] = len(rules)
                rules.append(_compiler_descriptor(d.code))
            results.append(
                {
                    "ruleId": d.code,
                    "ruleIndex": index[d.code],
                    "level": SARIF_LEVEL[d.severity],
                    "message": {"text": _message(d)},
                    "locations": _location(d, fr.file),
                }
            )
        for f in fr.findings:
            if f.code not in index:  # a finding of a rule that ran without being listed (AQ001 always is)
                index[f.code] = len(rules)
                rules.append(_rule_descriptor(result.registry.by_code[f.code]))
            res = {
                "ruleId": f.code,
                "ruleIndex": index[f.code],
                "level": SARIF_LEVEL[f.severity],
                "message": {"text": _message(f.to_diagnostic())},
                "locations": _location(f.to_diagnostic(), fr.file),
            }
            if f.severity != result.registry.by_code[f.code].severity:
                res["properties"] = {"configuredSeverity": f.severity.value}
            results.append(res)
    notifications = [
        {"level": "error", "message": {"text": msg}, "descriptor": {"id": "internal-error"}}
        for msg in result.internal_errors
    ]
    invocation = {"executionSuccessful": not result.internal_errors}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    version = tool_version()
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "archdsl",
                        "version": version,
                        "semanticVersion": version,
                        "rules": rules,
                    }
                },
                "invocations": [invocation],
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
