"""``archdsl check``'s work: parse, resolve and shape-check spec files, every net in each.

Free of typer (:mod:`archdsl.cli.check` is the command line around it), so the fast path of
:mod:`archdsl.cli.fastpath` runs it without loading the command-line framework.
"""

from __future__ import annotations

import sys
from pathlib import Path

from archdsl.cli.common import EXIT_OK, _with_file, make_limits, print_diagnostics, status_for
from archdsl.diagnostics import Diagnostic, DiagnosticError, SourceMap


def run_check(files: list[Path], fmt: str = "text", quiet: bool = False, max_elements: int | None = None) -> int:
    """Check ``files``; print the diagnostics (``fmt``: text on stderr, json on stdout) and return the
    exit status (0 clean, 1 errors, 2/3 by the codes' kinds)."""
    from archdsl.resolve import Resolver, load_program

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
    errors = [d for d in diags if d.severity.value == "error"]
    if not errors and not quiet and fmt == "text":
        sys.stderr.write(
            f"checked {len(files)} file{'s' if len(files) != 1 else ''}, {nets} "
            f"net{'s' if nets != 1 else ''}"
            + (f", {spaces} space{'s' if spaces != 1 else ''} ({points} points)" if spaces else "")
            + ": no errors\n"
        )
    return status_for(errors) if errors else EXIT_OK


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
