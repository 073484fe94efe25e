"""The ``archdsl`` command line (typer). One module per command; heavy backends load lazily.

Exit codes: 0 success · 1 the spec has errors (or lint findings) · 2 usage error · 3 the tool
failed (internal error, missing optional dependency).
"""

from __future__ import annotations

import os
import sys

import typer

from archdsl import __version__

app = typer.Typer(
    name="archdsl",
    help=(
        "A declarative language for CNN/attention backbone architectures, and its compiler.\n\n"
        "Exit codes: 0 success; 1 the spec has errors (lint: findings); 2 usage error; "
        "3 the tool failed (internal error or a missing optional dependency); "
        "4 (lint only) a spec does not compile. See docs/cli.md."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"archdsl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    from archdsl.fileio import forget_inputs

    forget_inputs()  # each command is a run of its own (tests invoke many in one process)


from archdsl.cli import bench, check, compile, explore, fmt, lint, lsp, render, report, show  # noqa: E402  (commands register themselves on `app`)

__all__ = ["app", "bench", "check", "compile", "explore", "fmt", "lint", "lsp", "main", "render", "report", "show"]


_INPUT_HELP = {
    "missing": "check the path",
    "directory": "name a file, not a folder",
    "special": "archdsl reads regular files only: copy the data into a file first",
    "too_large": "this is larger than archdsl accepts for such a file",
    "unreadable": "check the file's permissions",
}


def main() -> None:
    """Entry point: never show a Python traceback for a failure of ours (exit 3 instead)."""
    from archdsl.fileio import InputError, OutputError, install_signal_handlers

    install_signal_handlers()
    try:
        app(standalone_mode=True)
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
