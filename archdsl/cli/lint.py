"""``archdsl lint``, ``archdsl rules`` and ``archdsl rule``: architecture lint (docs/lint.md).

Exit codes of ``archdsl lint``:
  0  no finding at or above the failing severity (``fail-on``, default warning)
  1  findings at the failing severity
  2  usage error: a bad option, a path that does not exist, an invalid configuration
  3  the tool failed: an internal error, a lint rule (or plugin) that crashed or cannot load
  4  a spec does not compile: its compiler diagnostics are printed and it is not linted

When several apply, the highest in the order 3, 4, 1 wins. ``archdsl lint`` imports neither torch
nor onnx.

``-o FILE`` writes the report atomically (a temporary file renamed over FILE, so an interrupted run
leaves the old report) and never over an input of the run: a spec, an imported spec, a
configuration or results file (exit 2).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from archdsl.cli import app

LINT_EPILOG = """Examples:

  archdsl lint specs/

  archdsl lint specs/attendnext.arch --select AD

  archdsl lint specs/ --preset attendnext

  archdsl lint specs/ --ignore AR203 --fail-on error

  archdsl lint specs/ --format sarif -o archdsl.sarif

  archdsl lint specs/ --format github

Configuration: [tool.archdsl.lint] in the nearest pyproject.toml (or --config FILE).
Suppress a finding with a comment on its line: # archdsl: noqa AD102

Exit codes: 0 clean; 1 findings at the failing severity; 2 usage error; 3 tool failure;
4 a spec does not compile (not linted).
"""


def _usage(message: str, help: str | None = None) -> typer.Exit:
    from archdsl.cli.linting import usage

    return typer.Exit(usage(message, help).code)


def _registry():
    from archdsl.cli.linting import Stop, load_registry

    try:
        return load_registry()
    except Stop as stop:
        raise typer.Exit(stop.code) from None


@app.command(epilog=LINT_EPILOG)
def lint(
    paths: list[Path] = typer.Argument(..., help="Spec files, or folders to search for *.arch.", show_default=False),
    fmt: str = typer.Option("text", "--format", help="Output: text, json, sarif (2.1.0) or github (annotations)."),
    select: list[str] = typer.Option(
        None, "--select", help="Rules to run instead of the configured ones: codes, prefixes (AD), names, or ALL."
    ),
    extend_select: list[str] = typer.Option(None, "--extend-select", help="Rules to run in addition."),
    preset: str = typer.Option(
        None,
        "--preset",
        help="A named selection instead of the configured one: default (all but AD) or attendnext (all, AD included).",
    ),
    ignore: list[str] = typer.Option(None, "--ignore", help="Rules not to run (added to the configured ignores)."),
    fail_on: str = typer.Option(
        None, "--fail-on", help="Lowest severity that fails the run: error, warning, info or never."
    ),
    config: Path = typer.Option(
        None, "--config", help="A TOML file with the lint settings (instead of pyproject.toml)."
    ),
    isolated: bool = typer.Option(False, "--isolated", help="Ignore every configuration file."),
    ignore_noqa: bool = typer.Option(False, "--ignore-noqa", help="Report findings that noqa comments suppress."),
    output: Path = typer.Option(None, "--output-file", "-o", help="Write the report to this file instead of stdout."),
    exit_zero: bool = typer.Option(False, "--exit-zero", help="Exit 0 even when there are findings."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Text format: print nothing when all is clean."),
) -> None:
    """Lint specs: the AttendNeXt design constraints (AD), architecture hygiene (AR), spec source
    hygiene (AS) and stale suppressions (AQ). `archdsl rules` lists the rules."""
    from archdsl.cli.linting import run_lint

    options = dict(select=select, extend_select=extend_select, preset=preset, ignore=ignore, fail_on=fail_on)
    options.update(config=config, isolated=isolated, ignore_noqa=ignore_noqa, output=output, exit_zero=exit_zero)
    raise typer.Exit(run_lint(paths, fmt=fmt, quiet=quiet, **options))


@app.command(name="rules", epilog="Examples:\n\n  archdsl rules\n\n  archdsl rules --json")
def list_rules(
    as_json: bool = typer.Option(False, "--json", help="Print the rules as JSON."),
) -> None:
    """List the lint rules: code, name, default severity and what each checks."""
    from archdsl.rules.registry import FAMILIES

    reg = _registry()
    if as_json:
        rows = [
            {
                "code": r.code,
                "name": r.name,
                "severity": r.severity.value,
                "family": r.family(),
                "summary": r.summary(),
                "origin": r.origin,
                "options": sorted((f.alias or k) for k, f in r.options.model_fields.items()),
            }
            for r in reg.rules
        ]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    wname = max(len(r.name) for r in reg.rules)
    for fam in [*FAMILIES, *sorted({r.family() for r in reg.rules} - set(FAMILIES))]:
        rules = [r for r in reg.rules if r.family() == fam]
        if not rules:
            continue
        typer.echo(f"{fam}  {FAMILIES.get(fam, 'third-party rules')}")
        for r in rules:
            extra = "" if r.origin == "built-in" else f"  [{r.origin}]"
            typer.echo(f"  {r.code}  {r.name:<{wname}}  {r.severity.value:<7}  {r.summary()}{extra}")
        typer.echo("")
    typer.echo("`archdsl rule CODE` prints a rule's documentation; docs/rules/ has one page per rule.")


@app.command(name="rule", epilog="Examples:\n\n  archdsl rule AD103\n\n  archdsl rule aliased-downsampling")
def show_rule(code: str = typer.Argument(..., help="A rule code or name.", show_default=False)) -> None:
    """Print one rule's documentation (what it does, why, an example, what to use instead, options)."""
    from archdsl.rules.docs import rule_markdown

    reg = _registry()
    rule = reg.get(code) or reg.get(code.upper())
    if rule is None:
        hint = reg.suggestion(code)
        raise _usage(f"no rule '{code}'" + (f"; {hint}" if hint else "; `archdsl rules` lists them"))
    typer.echo(rule_markdown(rule))
