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
import sys
from pathlib import Path

import typer

from archdsl.cli import app
from archdsl.cli.common import EXIT_OK, EXIT_TOOL, EXIT_USAGE, use_color

EXIT_FINDINGS = 1
EXIT_SPEC_ERRORS = 4
FORMATS = ("text", "json", "sarif", "github")

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
    sys.stderr.write(f"archdsl lint: error: {message}\n" + (f"  = help: {help}\n" if help else ""))
    return typer.Exit(EXIT_USAGE)


def _write_report(output: Path, report: str) -> None:
    from archdsl.fileio import OutputError, atomic_write

    try:
        atomic_write(output, report)
    except OutputError as exc:
        raise _usage(exc.message, exc.help or "choose another path with -o") from None
    except OSError as exc:
        raise _usage(f"cannot write {output}: {exc.strerror or exc}", "choose another path with -o") from None


def _tool(message: str) -> typer.Exit:
    sys.stderr.write(f"archdsl: internal error: {message}\n")
    return typer.Exit(EXIT_TOOL)


def _split(values: list[str] | None) -> tuple[str, ...]:
    return tuple(s.strip() for v in values or () for s in v.split(",") if s.strip())


def _registry():
    from archdsl.rules.registry import RegistryError, default_registry

    try:
        return default_registry()
    except RegistryError as exc:
        raise _tool(str(exc)) from None


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
    from archdsl.rules import config as cfgmod
    from archdsl.rules.engine import Linter, LintUsageError, Overrides
    from archdsl.rules.reporting import render

    if fmt not in FORMATS:
        raise _usage(f"--format must be one of {', '.join(FORMATS)}, got '{fmt}'")
    if fail_on is not None and fail_on not in cfgmod.FAIL_ON:
        raise _usage(f"--fail-on must be one of {', '.join(cfgmod.FAIL_ON)}, got '{fail_on}'")
    if config is not None and isolated:
        raise _usage("--config and --isolated exclude each other")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise _usage(f"no such file or folder: {', '.join(missing)}")
    registry = _registry()
    from archdsl.rules.registry import PRESETS

    if preset is not None and preset not in PRESETS:
        raise _usage(f"--preset must be one of {', '.join(PRESETS)}, got '{preset}'")
    overrides = Overrides(
        select=_split(select) or None,
        extend_select=_split(extend_select),
        ignore=_split(ignore),
        fail_on=fail_on,
        preset=preset,
    )
    try:
        explicit = cfgmod.load_file(config) if config is not None else None
        linter = Linter(
            registry=registry, config=explicit, isolated=isolated, overrides=overrides, ignore_noqa=ignore_noqa
        )
        result = linter.lint_paths(paths)
    except cfgmod.ConfigError as exc:
        sys.stderr.write(exc.render())
        raise typer.Exit(EXIT_USAGE) from None
    except LintUsageError as exc:
        if exc.config_error is not None:
            sys.stderr.write(exc.config_error.render())
            raise typer.Exit(EXIT_USAGE) from None
        raise _usage(str(exc), cfgmod.CONFIG_HELP) from None
    quiet_ok = quiet and fmt == "text" and not result.findings and not result.spec_errors
    if not quiet_ok:
        color = fmt == "text" and output is None and use_color(sys.stdout)
        report = render(result, fmt, color=color)
        if output is not None:
            _write_report(output, report)
        else:
            sys.stdout.write(report)
    for msg in result.internal_errors:
        sys.stderr.write(f"archdsl: internal error: {msg}\n")
    if result.internal_errors:
        sys.stderr.write("  = help: this is a bug in the rule; rerun with ARCHDSL_DEBUG=1 and report it\n")
        raise typer.Exit(EXIT_TOOL)
    if result.spec_errors:
        raise typer.Exit(EXIT_SPEC_ERRORS)
    if result.failed and not exit_zero:
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_OK)


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
