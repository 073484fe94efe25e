"""``archdsl lint``'s work (docs/lint.md); :mod:`archdsl.cli.lint` is the command line around it.

Free of typer, so the fast path of :mod:`archdsl.cli.fastpath` runs it without loading the
command-line framework. Exit codes: see :mod:`archdsl.cli.lint`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from archdsl.cli.common import EXIT_OK, EXIT_TOOL, EXIT_USAGE, use_color

EXIT_FINDINGS = 1
EXIT_SPEC_ERRORS = 4
FORMATS = ("text", "json", "sarif", "github")


class Stop(Exception):
    """Ends the command with exit status ``code`` (the message, if any, is printed already)."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def usage(message: str, help: str | None = None) -> Stop:
    sys.stderr.write(f"archdsl lint: error: {message}\n" + (f"  = help: {help}\n" if help else ""))
    return Stop(EXIT_USAGE)


def tool(message: str) -> Stop:
    sys.stderr.write(f"archdsl: internal error: {message}\n")
    return Stop(EXIT_TOOL)


def write_report(output: Path, report: str) -> None:
    from archdsl.fileio import OutputError, atomic_write

    try:
        atomic_write(output, report)
    except OutputError as exc:
        raise usage(exc.message, exc.help or "choose another path with -o") from None
    except OSError as exc:
        raise usage(f"cannot write {output}: {exc.strerror or exc}", "choose another path with -o") from None


def split_codes(values: list[str] | None) -> tuple[str, ...]:
    return tuple(s.strip() for v in values or () for s in v.split(",") if s.strip())


def load_registry():
    from archdsl.rules.registry import RegistryError, default_registry

    try:
        return default_registry()
    except RegistryError as exc:
        raise tool(str(exc)) from None


def run_lint(
    paths: list[Path],
    *,
    fmt: str = "text",
    select: list[str] | None = None,
    extend_select: list[str] | None = None,
    preset: str | None = None,
    ignore: list[str] | None = None,
    fail_on: str | None = None,
    config: Path | None = None,
    isolated: bool = False,
    ignore_noqa: bool = False,
    output: Path | None = None,
    exit_zero: bool = False,
    quiet: bool = False,
) -> int:
    """Lint ``paths``; print or write the report and return the exit status (the options are those
    of ``archdsl lint --help``)."""
    try:
        return _lint(**locals())
    except Stop as stop:
        return stop.code


def _lint(
    paths, fmt, select, extend_select, preset, ignore, fail_on, config, isolated, ignore_noqa, output, exit_zero, quiet
) -> int:
    from archdsl.rules import config as cfgmod
    from archdsl.rules.engine import Linter, LintUsageError, Overrides
    from archdsl.rules.reporting import render

    if fmt not in FORMATS:
        raise usage(f"--format must be one of {', '.join(FORMATS)}, got '{fmt}'")
    if fail_on is not None and fail_on not in cfgmod.FAIL_ON:
        raise usage(f"--fail-on must be one of {', '.join(cfgmod.FAIL_ON)}, got '{fail_on}'")
    if config is not None and isolated:
        raise usage("--config and --isolated exclude each other")
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise usage(f"no such file or folder: {', '.join(missing)}")
    registry = load_registry()
    from archdsl.rules.registry import PRESETS

    if preset is not None and preset not in PRESETS:
        raise usage(f"--preset must be one of {', '.join(PRESETS)}, got '{preset}'")
    overrides = Overrides(
        select=split_codes(select) or None,
        extend_select=split_codes(extend_select),
        ignore=split_codes(ignore),
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
        raise Stop(EXIT_USAGE) from None
    except LintUsageError as exc:
        if exc.config_error is not None:
            sys.stderr.write(exc.config_error.render())
            raise Stop(EXIT_USAGE) from None
        raise usage(str(exc), cfgmod.CONFIG_HELP) from None
    quiet_ok = quiet and fmt == "text" and not result.findings and not result.spec_errors
    if not quiet_ok:
        color = fmt == "text" and output is None and use_color(sys.stdout)
        report = render(result, fmt, color=color)
        if output is not None:
            write_report(output, report)
        else:
            sys.stdout.write(report)
    for msg in result.internal_errors:
        sys.stderr.write(f"archdsl: internal error: {msg}\n")
    if result.internal_errors:
        sys.stderr.write("  = help: this is a bug in the rule; rerun with ARCHDSL_DEBUG=1 and report it\n")
        raise Stop(EXIT_TOOL)
    if result.spec_errors:
        raise Stop(EXIT_SPEC_ERRORS)
    if result.failed and not exit_zero:
        raise Stop(EXIT_FINDINGS)
    return EXIT_OK
