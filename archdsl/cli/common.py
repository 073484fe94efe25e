"""Shared CLI plumbing: exit codes, loading specs with diagnostics, output helpers.

Exit codes (documented in docs/cli.md and in ``archdsl --help``):
  0  success
  1  the spec has errors (diagnostics were printed); for lint: findings at the failing severity
  2  usage error (unknown option, missing file argument)
  3  the tool failed: an internal error or a missing optional dependency; not the spec's fault
  4  lint only: a spec does not compile, so it was not linted (its diagnostics are printed)

Where diagnostics decide, the exit status is their codes' kind (:func:`archdsl.codes.exit_code`:
spec 1, usage 2, tool 3), never a comparison of code strings: :func:`exit_for`.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archdsl.diagnostics import Diagnostic, DiagnosticError, SourceMap, render_json, render_text

EXIT_OK = 0
EXIT_SPEC = 1
EXIT_USAGE = 2
EXIT_TOOL = 3

if TYPE_CHECKING:  # typer is imported where an exit or a usage error is made: the fast path has none
    import typer


def exit_for(diags: list[Diagnostic]) -> typer.Exit:
    """The exit for diagnostics already printed: by their codes' kinds (1 spec, 2 usage, 3 tool)."""
    import typer

    return typer.Exit(status_for(diags))


def status_for(diags: list[Diagnostic]) -> int:
    """The exit status for diagnostics already printed (:func:`exit_for` without typer)."""
    from archdsl.codes import exit_code

    return exit_code(diags) or EXIT_SPEC


def use_color(stream=None) -> bool:
    stream = stream or sys.stderr
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def print_diagnostics(diags: list[Diagnostic], sources: SourceMap, fmt: str = "text") -> None:
    if fmt == "json":
        sys.stdout.write(render_json(diags) + "\n")
        return
    color = use_color(sys.stderr)
    for d in diags:
        sys.stderr.write(render_text(d, sources, color=color) + "\n")
    n_err = sum(1 for d in diags if d.severity.value == "error")
    if n_err:
        sys.stderr.write(f"{n_err} error{'s' if n_err != 1 else ''}\n")


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``-p width=0.75 -p act="relu"`` → {"width": 0.75, "act": "relu"} (values parsed as JSON scalars)."""
    import typer

    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise typer.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--param")
        k, v = item.split("=", 1)
        k = k.strip()
        if not k.isidentifier():
            raise typer.BadParameter(f"{k!r} is not a parameter name", param_hint="--param")
        v = v.strip()
        if v in ("true", "false"):
            out[k] = v == "true"
        elif v == "none":
            out[k] = None
        else:
            try:
                val = json.loads(v)
            except ValueError:
                val = v
            if not isinstance(val, (int, float, str)) or isinstance(val, bool):
                val = v
            out[k] = val
    return out


@dataclass
class Loaded:
    graph: Any
    sources: SourceMap


def load_or_exit(
    spec: Path,
    net: str | None = None,
    params: list[str] | None = None,
    input_size: int | None = None,
    fmt: str = "text",
    max_elements: int | None = None,
) -> Loaded:
    """Resolve one spec; on errors print the diagnostics and exit 1 (never a traceback).

    ``net`` names a net or a search space; a space resolves at its default point, and a note on
    stderr says which (:mod:`archdsl.space.select`).
    """
    from archdsl.space.select import resolve_selected

    sources = SourceMap()
    overrides = parse_overrides(params)
    limits = make_limits(max_elements)
    try:
        shape = None
        if input_size is not None:
            shape = _input_shape_for(spec, net, overrides, input_size, sources)
        sel = resolve_selected(spec, net, overrides, shape, limits=limits, sources=sources)
    except DiagnosticError as exc:
        print_diagnostics(_with_file(exc.diagnostics, spec), sources, fmt)
        raise exit_for(exc.diagnostics) from None
    if sel.note is not None:
        sys.stderr.write(f"note: {sel.note}\n")
    return Loaded(sel.graph, sources)


def make_limits(max_elements: int | None):
    """The resolver's limits, with the user's element limit if given."""
    from archdsl.resolve import DEFAULT_LIMITS

    if max_elements is None:
        return DEFAULT_LIMITS
    return DEFAULT_LIMITS.model_copy(update={"max_elements": max_elements})


MAX_ELEMENTS_HELP = "Refuse tensors larger than this many elements per sample (default 268,435,456)."


def _input_shape_for(spec: Path, net, overrides, size: int, sources) -> tuple[int, ...]:
    from archdsl.space.select import resolve_selected

    g = resolve_selected(spec, net, overrides, sources=sources).graph
    shape = g.inputs[0].type.shape
    if len(shape) != 3:
        return shape
    return (shape[0], size, size)


def _with_file(diags: list[Diagnostic], spec: Path) -> list[Diagnostic]:
    """Diagnostics without a span (e.g. 'no net named x') still name the file."""
    from archdsl.diagnostics import Span

    out = []
    for d in diags:
        if d.span is None:
            d = Diagnostic(d.code, d.message, Span(str(spec), 0, 0, 0, 0), d.severity, d.help, d.notes)
        out.append(d)
    return out


def fail_tool(message: str, hint: str | None = None) -> typer.Exit:
    import typer

    sys.stderr.write(f"archdsl: error: {message}\n")
    if hint:
        sys.stderr.write(f"  = help: {hint}\n")
    return typer.Exit(EXIT_TOOL)


def output_refused(exc) -> typer.Exit:
    """An :class:`archdsl.fileio.OutputError` (an output onto an input, a folder ...): exit 2."""
    import typer

    sys.stderr.write(f"archdsl: error: {exc.message}\n")
    if exc.help:
        sys.stderr.write(f"  = help: {exc.help}\n")
    return typer.Exit(EXIT_USAGE)


def check_outputs(paths) -> None:
    """Refuse (exit 2) before any work is done when one of the artefact ``paths`` would overwrite an
    input of this run (the spec, an imported spec, a weights file; also through a link), is a
    folder, or lies below a file. Commands call it with every path they will write."""
    from archdsl.fileio import OutputError, check_output

    for path in paths:
        try:
            check_output(path)
        except OutputError as exc:
            raise output_refused(exc) from None


def check_output_option(output) -> None:
    """The ``-o`` value itself, before a backend is even loaded: an existing file there that is an
    input is refused at once (a folder is fine: artefacts go inside it)."""
    if output is not None and os.path.lexists(output) and not os.path.isdir(output):
        check_outputs([output])


def write_or_exit(path, data) -> None:
    """Write one artefact atomically; a refusal is exit 2, a failure to write exit 3."""
    from archdsl.fileio import OutputError, atomic_write

    try:
        atomic_write(path, data)
    except OutputError as exc:
        raise output_refused(exc) from None
    except OSError as exc:
        raise cannot_write(path, exc) from None


def cannot_write(path, exc: OSError) -> typer.Exit:
    """Exit 3 for an artefact the system would not let us write (no space, no permission ...)."""
    where = exc.filename or path
    hint = {
        errno.ENOSPC: "free some space on that disk, or write somewhere else with -o",
        errno.EDQUOT: "free some space on that disk, or write somewhere else with -o",
        errno.EACCES: "choose a folder you may write to with -o",
        errno.EPERM: "choose a folder you may write to with -o",
        errno.EROFS: "that file system is read-only; choose another output path with -o",
    }.get(exc.errno, "check that the output folder exists and is writable")
    return fail_tool(f"cannot write {where}: {exc.strerror or exc}", hint)


def human(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(int(n))
