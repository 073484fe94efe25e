"""The fast path: ``archdsl check``, ``lint`` and ``fmt`` as pre-commit hooks run them, without typer.

Typer (with click and, since typer 0.29, pydantic) costs ~40 ms of every start-up, and ``fmt``
needs nothing else that heavy: on this path ``archdsl fmt --check FILE`` imports neither typer nor
pydantic, and ``archdsl check`` and ``archdsl lint`` skip typer. The path takes only the plain shapes of those command
lines: the options below, each spelled as ``archdsl --help`` shows it, and file arguments that do
not start with ``-`` (so ``-``, standard input, goes to typer too). Anything else (``--help``, an
unknown or misspelt option, a bad value, ``--``, no file) returns ``None`` and typer handles the
whole command line, with its usual messages, so every error, help text and exit code stays typer's
own.

What each command does lives in a typer-free module (:func:`archdsl.cli.checking.run_check`,
:func:`archdsl.cli.linting.run_lint`, :func:`archdsl.cli.formatting.run_fmt`); the typer commands
call the same functions.
``tests/test_cli_fastpath.py`` checks that the option tables below are the typer commands' options
and that both paths give the same output and exit status.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

# command → option spelling → (keyword, kind): "flag" (True when given), "text|json" (one of those),
# "int>=1", "text" (a string), "path" (a Path), "list" (repeatable, the strings in order)
OPTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "check": {
        "--quiet": ("quiet", "flag"),
        "-q": ("quiet", "flag"),
        "--format": ("fmt", "text|json"),
        "--max-elements": ("max_elements", "int>=1"),
    },
    "lint": {
        "--format": ("fmt", "text"),
        "--select": ("select", "list"),
        "--extend-select": ("extend_select", "list"),
        "--preset": ("preset", "text"),
        "--ignore": ("ignore", "list"),
        "--fail-on": ("fail_on", "text"),
        "--config": ("config", "path"),
        "--isolated": ("isolated", "flag"),
        "--ignore-noqa": ("ignore_noqa", "flag"),
        "--output-file": ("output", "path"),
        "-o": ("output", "path"),
        "--exit-zero": ("exit_zero", "flag"),
        "--quiet": ("quiet", "flag"),
        "-q": ("quiet", "flag"),
    },
    "fmt": {
        "--check": ("check", "flag"),
        "--diff": ("diff", "flag"),
        "--quiet": ("quiet", "flag"),
        "-q": ("quiet", "flag"),
    },
}


def _value(kind: str, text: str):
    """The option's value, or ``None`` when typer should judge it (and word the error). A value that
    starts with ``-`` goes to typer too (click would take it as the value; a typo is likelier)."""
    if not text or text.startswith("-"):
        return None
    if kind in ("text", "list"):
        return text
    if kind == "path":
        return Path(text)
    if kind == "text|json":
        return text if text in ("text", "json") else None
    if kind == "int>=1":
        if not text.isascii() or not text.isdigit():
            return None
        n = int(text)
        return n if n >= 1 else None
    raise AssertionError(kind)


def parse(command: str, args: list[str]) -> tuple[list[str], dict] | None:
    """(file arguments, keyword arguments) of a plain command line, or ``None``."""
    table = OPTIONS[command]
    files: list[str] = []
    kwargs: dict = {}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("-"):
            files.append(arg)
            continue
        name, eq, inline = arg.partition("=")
        spec = table.get(name)
        if spec is None:
            return None
        key, kind = spec
        if kind == "flag":
            if eq:
                return None
            kwargs[key] = True
            continue
        if not eq:
            if i >= len(args):
                return None
            inline = args[i]
            i += 1
        value = _value(kind, inline)
        if value is None:
            return None
        if kind == "list":
            kwargs.setdefault(key, []).append(value)
        else:
            kwargs[key] = value
    return (files, kwargs) if files else None


def _check(files: list[str], kwargs: dict) -> int:
    from archdsl.cli.checking import run_check

    return run_check([Path(f) for f in files], **kwargs)


def _lint(files: list[str], kwargs: dict) -> int:
    from archdsl.cli.linting import run_lint

    return run_lint([Path(f) for f in files], **kwargs)


def _fmt(files: list[str], kwargs: dict) -> int:
    from archdsl.cli.formatting import run_fmt

    return run_fmt(files, **kwargs)


RUNNERS: dict[str, Callable[[list[str], dict], int]] = {"check": _check, "lint": _lint, "fmt": _fmt}


def run(argv: list[str]) -> int | None:
    """The exit status of ``archdsl ARGV`` run on the fast path, or ``None``: let typer run it."""
    if not argv or argv[0] not in RUNNERS:
        return None
    parsed = parse(argv[0], argv[1:])
    if parsed is None:
        return None
    return RUNNERS[argv[0]](*parsed)
