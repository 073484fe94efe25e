"""The ``archdsl`` command line (typer). One module per command, loaded only for the command that runs.

Exit codes: 0 success · 1 the spec has errors (or lint findings) · 2 usage error · 3 the tool
failed (internal error, missing optional dependency).

Start-up is part of the interface (``check`` and ``lint`` run in pre-commit hooks): this module
imports nothing beyond the standard library at import time. ``archdsl --version`` answers without
typer; the typer app is made on first use (:func:`get_app`, or the attribute ``app``), and its root
group (:class:`archdsl.cli.lazy.LazyGroup`) imports a command's module only when that command is
looked up. ``archdsl --help`` lists the commands from :data:`COMMANDS` without importing any.

Adding a command is one line here: its name, the module whose ``@app.command`` / ``app.add_typer``
defines it, and the first paragraph of its help (``tests/test_cli_lazy.py`` checks that the line
matches the command). Keep the table in the order ``archdsl --help`` lists the commands. See
docs/performance.md for the import rules.
"""

from __future__ import annotations

import os
import sys

from archdsl import __version__

# name → (module that registers it, the first paragraph of its help: what `archdsl --help` lists)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("archdsl.cli.check", "Check specs: syntax, names, arguments, shapes and size limits of every net."),
    "compile": (
        "archdsl.cli.compile",
        "Compile a spec with a backend and write its artefacts, then print the summary table.",
    ),
    "backends": ("archdsl.cli.compile", "List the installed backends (entry-point group archdsl.backends)."),
    "fmt": (
        "archdsl.cli.fmt",
        "Format specs in the canonical layout: indentation, spacing, line breaks at 100 columns,\n"
        "comments kept where they are. No options: every spec is laid out the same way.",
    ),
    "lint": (
        "archdsl.cli.lint",
        "Lint specs: the AttendNeXt design constraints (AD), architecture hygiene (AR), spec source\n"
        "hygiene (AS) and stale suppressions (AQ). `archdsl rules` lists the rules.",
    ),
    "rules": ("archdsl.cli.lint", "List the lint rules: code, name, default severity and what each checks."),
    "rule": (
        "archdsl.cli.lint",
        "Print one rule's documentation (what it does, why, an example, what to use instead, options).",
    ),
    "lsp": (
        "archdsl.cli.lsp",
        "Run the archdsl language server: diagnostics, hover with shapes/parameters/MACs, go to\n"
        "definition, references, completion, outline, formatting and quick fixes.",
    ),
    "render": (
        "archdsl.cli.render",
        "Render a net as a figure: stages as clusters, columns side by side, DC-AC layers in colour.",
    ),
    "report": (
        "archdsl.cli.report",
        "Draw the paper's figures from stored results: accuracy, relative throughput, size, accuracy vs latency.",
    ),
    "show": (
        "archdsl.cli.show",
        "Show a net: output shape, parameters and MACs per stage (or per block with --depth), and totals.",
    ),
    "schema": ("archdsl.cli.show", "Print the JSON Schema of the IR (what `archdsl show --json` prints)."),
    "bench": ("archdsl.cli.bench", "Measure or estimate latency and throughput of specs on a target."),
    "explore": ("archdsl.cli.explore", "Explore a search space with Optuna: objectives, constraints, Pareto front."),
    "weights": ("archdsl.cli.weights", "Weights of other implementations: map a checkpoint onto a spec by structure."),
}

HELP = (
    "A declarative language for CNN/attention backbone architectures, and its compiler.\n\n"
    "Exit codes: 0 success; 1 the spec has errors (lint: findings); 2 usage error; "
    "3 the tool failed (internal error or a missing optional dependency); "
    "4 (lint only) a spec does not compile. See docs/cli.md."
)

_app = None


def get_app():
    """The typer app (made once): the root options and the lazy group of :data:`COMMANDS`."""
    global _app
    if _app is None:
        from archdsl.cli.lazy import make_app

        _app = make_app(HELP, __version__)
    return _app


def __getattr__(name: str):
    if name == "app":
        return get_app()
    modules = {m.rsplit(".", 1)[1] for m, _ in COMMANDS.values()}
    if name in modules:  # `archdsl.cli.check` and the like, as before (they were imported eagerly)
        import importlib

        return importlib.import_module(f"archdsl.cli.{name}")
    raise AttributeError(f"module 'archdsl.cli' has no attribute {name!r}")


__all__ = ["COMMANDS", "app", "get_app", "main"]


_INPUT_HELP = {
    "missing": "check the path",
    "directory": "name a file, not a folder",
    "special": "archdsl reads regular files only: copy the data into a file first",
    "too_large": "this is larger than archdsl accepts for such a file",
    "unreadable": "check the file's permissions",
}


def _fast_path(argv: list[str]) -> int | None:
    """``archdsl check`` / ``lint`` / ``fmt`` in their plain forms, without typer (:mod:`archdsl.cli.fastpath`);
    ``None`` for every other command line. ``ARCHDSL_NO_FAST_PATH=1`` sends everything to typer."""
    if not argv or argv[0] not in ("check", "lint", "fmt") or os.environ.get("ARCHDSL_NO_FAST_PATH"):
        return None
    from archdsl.cli.fastpath import run

    return run(argv)


def main() -> None:
    """Entry point: never show a Python traceback for a failure of ours (exit 3 instead)."""
    if sys.argv[1:] == ["--version"]:  # the one answer that needs nothing loaded
        sys.stdout.write(f"archdsl {__version__}\n")
        sys.exit(0)
    from archdsl.fileio import InputError, OutputError, install_signal_handlers

    install_signal_handlers()
    try:
        status = _fast_path(sys.argv[1:])
        if status is not None:
            sys.exit(status)
        get_app()(standalone_mode=True)
    except SystemExit:
        raise
    except OutputError as exc:  # an artefact path that would overwrite an input, or cannot be written
        sys.stderr.write(f"archdsl: error: {exc.message}\n")
        if exc.help:
            sys.stderr.write(f"  = help: {exc.help}\n")
        sys.exit(2)
    except InputError as exc:  # an input file that cannot be read (commands report most as diagnostics)
        sys.stderr.write(f"archdsl: error: {exc.message}\n")
        sys.stderr.write(f"  = help: {_INPUT_HELP.get(exc.reason, 'check the path and try again')}\n")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except Exception as exc:  # the tool failed, not the spec
        if os.environ.get("ARCHDSL_DEBUG"):
            raise
        sys.stderr.write(
            f"archdsl: internal error: {type(exc).__name__}: {exc}\n"
            "  = help: this is a bug in archdsl; rerun with ARCHDSL_DEBUG=1 for the traceback "
            "and report it\n"
        )
        sys.exit(3)
