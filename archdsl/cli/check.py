"""``archdsl check``: parse, resolve and shape-check spec files, every net in each."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from archdsl.cli import app
from archdsl.cli.common import EXIT_OK, MAX_ELEMENTS_HELP, _with_file, exit_for, make_limits, print_diagnostics
from archdsl.diagnostics import Diagnostic, DiagnosticError, SourceMap


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
    from archdsl.resolve import Resolver, load_program

    if fmt not in ("text", "json"):
        raise typer.BadParameter("choose 'text' or 'json'", param_hint="--format")
    sources = SourceMap()
    diags: list[Diagnostic] = []
    nets = spaces = points = 0
    for f in files:
        try:
            prog = load_program(f, sources=sources)
        except DiagnosticError as exc:
            diags.extend(_with_file(exc.diagnostics, f))
            continue
        resolver = Resolver(prog, make_limits(max_elements))
        for name in resolver.net_names():
            try:
                resolver.resolve(name)
                nets += 1
            except DiagnosticError as exc:
                diags.extend(_with_file(exc.diagnostics, f))
        if prog.root.spaces:
            n_spaces, n_points = _check_spaces(prog, sources, make_limits(max_elements), diags)
            spaces += n_spaces
            points += n_points
    print_diagnostics(diags, sources, fmt)
    if fmt == "json" and not diags:
        pass
    errors = [d for d in diags if d.severity.value == "error"]
    if not errors and not quiet and fmt == "text":
        sys.stderr.write(
            f"checked {len(files)} file{'s' if len(files) != 1 else ''}, {nets} "
            f"net{'s' if nets != 1 else ''}"
            + (f", {spaces} space{'s' if spaces != 1 else ''} ({points} points)" if spaces else "")
            + ": no errors\n"
        )
    raise exit_for(errors) if errors else typer.Exit(EXIT_OK)


def _check_spaces(prog, sources: SourceMap, limits, diags: list[Diagnostic]) -> tuple[int, int]:
    """Each space of the file: its definition, then the points of :func:`archdsl.space.check_points`
    (the first failing one reported with its values). Returns the spaces and points that passed."""
    from archdsl.resolve import Resolver
    from archdsl.space import LoadedSpace, build_space, check_space

    n_spaces = n_points = 0
    for sdef in prog.root.spaces:
        resolver = Resolver(prog, limits)
        try:
            space = build_space(prog, sdef, resolver)
        except DiagnosticError as exc:
            diags.extend(exc.diagnostics)
            continue
        done, failed = check_space(LoadedSpace(space, prog, sources, limits, resolver))
        diags.extend(failed)
        if not failed:
            n_spaces += 1
            n_points += done
    return n_spaces, n_points
