"""``archdsl check``: the command line (typer); the work is :func:`archdsl.cli.checking.run_check`."""

from __future__ import annotations

from pathlib import Path

import typer

from archdsl.cli import app
from archdsl.cli.common import MAX_ELEMENTS_HELP


@app.command(epilog="Examples:\n\n  archdsl check specs/*.arch\n\n  archdsl check --format json specs/attendnext.arch")
def check(
    files: list[Path] = typer.Argument(..., help="Spec files to check.", show_default=False),
    fmt: str = typer.Option("text", "--format", help="Diagnostics as 'text' (stderr) or 'json' (stdout)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing when all is well."),
    max_elements: int = typer.Option(None, "--max-elements", min=1, help=MAX_ELEMENTS_HELP),
) -> None:
    """Check specs: syntax, names, arguments, shapes and size limits of every net.

    A search space is checked too, and resolved at a few points: its default point, every domain's
    first value, every domain's last value, and 3 random points (seed 0).

    Exit code 0 when every file is clean, 1 when any has errors, 3 when the tool itself failed.
    """
    from archdsl.cli.checking import run_check

    if fmt not in ("text", "json"):
        raise typer.BadParameter("choose 'text' or 'json'", param_hint="--format")
    raise typer.Exit(run_check(files, fmt, quiet, max_elements))
