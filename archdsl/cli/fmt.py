"""``archdsl fmt``: the command line (typer); what it does, and its exit codes, are in
:mod:`archdsl.cli.formatting` (docs/fmt.md)."""

from __future__ import annotations

import typer

from archdsl.cli import app

FMT_EPILOG = """Examples:

  archdsl fmt specs/

  archdsl fmt --check specs/ archdsl/stdlib/std.arch

  archdsl fmt --diff specs/attendnext.arch

  cat spec.arch | archdsl fmt -

Exit codes: 0 formatted (--check, --diff: nothing to change); 1 a file would change (--check,
--diff) or does not parse; 2 usage error; 3 a file could not be written.
"""


@app.command(name="fmt", epilog=FMT_EPILOG)
def fmt(
    paths: list[str] = typer.Argument(
        ...,
        help="Spec files, folders to search for *.arch, or - (standard input to standard output).",
        show_default=False,
    ),
    check: bool = typer.Option(False, "--check", help="Write nothing; name the files that would change (exit 1)."),
    diff: bool = typer.Option(False, "--diff", help="Write nothing; print a unified diff of the changes (exit 1)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print no summary."),
) -> None:
    """Format specs in the canonical layout: indentation, spacing, line breaks at 100 columns,
    comments kept where they are. No options: every spec is laid out the same way."""
    from archdsl.cli.formatting import run_fmt

    raise typer.Exit(run_fmt(paths, check, diff, quiet))
