"""Spec files: finding them in folders, and reading their text as ``archdsl check`` reads it.

Files are read through :func:`archdsl.fileio.read_input`: regular files only (a FIFO, a device or a
directory is refused without blocking), never more than :data:`MAX_SOURCE_BYTES` + 1 bytes. An
unreadable, special, oversized or non-UTF-8 file is a located diagnostic, never an exception.

This lives in the syntax layer (not beside the program loader in ``archdsl.resolve``) so that the
formatter, which reads specs exactly as ``check`` does, imports neither the IR nor pydantic.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from archdsl.diagnostics import Diagnostic, DiagnosticError, SourceMap, Span, did_you_mean, line_col, normalize_source
from archdsl.fileio import InputError, read_input
from archdsl.syntax.parser import MAX_SOURCE_BYTES

_MIB = MAX_SOURCE_BYTES // (1024 * 1024)
SKIP_DIRS = {"node_modules", "build", "dist", "__pycache__"}
"""folders a folder search never enters (nor hidden ones)"""


def read_spec(path: Path, label: str, span: Span | None, sources: SourceMap) -> tuple[str, int]:
    """The text of a spec file; an unreadable, special, oversized or non-UTF-8 file is a diagnostic.

    ``span`` is the import statement that asked for the file (None for a file named on the command
    line): read errors point there; an invalid byte is pointed at in the file itself.
    """
    try:
        data = read_input(path, MAX_SOURCE_BYTES, label)
    except InputError as exc:
        raise DiagnosticError(input_diagnostic(exc, path, span)) from None
    return decode_source(data, label, span, sources), len(data)


def input_diagnostic(exc: InputError, path: Path, span: Span | None) -> Diagnostic:
    if exc.reason == "too_large":
        return Diagnostic("E105", exc.message, span, help=f"spec files are limited to {_MIB} MiB")
    help = {
        "directory": "name a .arch file; to check every spec in a folder, pass its files (DIR/*.arch)",
        "special": "specs are read from regular files only",
        "unreadable": "check the file's permissions" if "ermission" in exc.message else "check the path",
    }.get(exc.reason)
    if exc.reason == "unreadable" and os.path.exists(path) and not os.path.isfile(path):  # a socket, say
        help = "specs are read from regular files only"
    if exc.reason == "missing":
        help = similar_file(path) or (None if span else "check the path")
    return Diagnostic("E602", exc.message, span, help=help)


def similar_file(path: Path) -> str | None:
    """A did-you-mean among the first few hundred spec files beside a missing one."""
    import difflib

    stems = []
    try:
        with os.scandir(path.parent) as it:
            for i, entry in enumerate(it):
                if i >= 500:
                    break
                if entry.name.endswith(".arch"):
                    stems.append(entry.name[: -len(".arch")])
    except OSError:
        return None
    close = difflib.get_close_matches(path.stem, stems, n=3, cutoff=0.6)  # the stems: every name ends .arch
    return did_you_mean(path.name, {c + ".arch" for c in close}) if close else None


def decode_source(data: bytes, label: str, span: Span | None, sources: SourceMap) -> str:
    """UTF-8 bytes as spec text: a leading BOM dropped, line ends made ``\\n``.

    Invalid UTF-8 is E107 at the line and column of the first bad byte, with that line quoted.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = line_col(normalize_source(data[: exc.start].decode("utf-8")))
        sources.add(label, data.decode("utf-8", "replace"))
        bad = data[exc.start : exc.end]
        raise DiagnosticError(
            Diagnostic(
                "E107",
                f"'{label}' is not UTF-8 text: invalid byte{'s' if len(bad) > 1 else ''} "
                + " ".join(f"0x{b:02x}" for b in bad),
                Span(label, line, col, line, col + 1),
                help="save the file as UTF-8",
                notes=(f"imported at {span}",) if span is not None else (),
            )
        ) from None
    return normalize_source(text)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders become their ``*.arch`` files (hidden and build folders skipped)."""
    out: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*.arch")
                if not any(part.startswith(".") or part in SKIP_DIRS for part in f.relative_to(p).parts[:-1])
            )
        else:
            found = [p]
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out
