"""``archdsl fmt``'s work (docs/fmt.md); :mod:`archdsl.cli.fmt` is the command line around it.

Files are read as ``archdsl check`` reads them (regular UTF-8 files only, the same size limit and
diagnostics), folders are searched for ``*.arch`` as ``archdsl lint`` searches them, and a file is
rewritten atomically, only when its layout changes. A file that does not parse is left untouched and
its syntax error reported. Exit codes: 0 all formatted (or, with ``--check``/``--diff``, nothing
would change); 1 a file would change (``--check``/``--diff``) or has errors; 2 usage error; 3 a file
could not be written. ``archdsl fmt`` imports neither torch nor onnx.

Free of typer and of the IR (pydantic): the fast path of :mod:`archdsl.cli.fastpath` runs it
without loading either.
"""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from archdsl.cli.common import EXIT_OK, EXIT_SPEC, EXIT_TOOL, EXIT_USAGE, print_diagnostics
from archdsl.diagnostics import Diagnostic, DiagnosticError, SourceMap

STDIN = "<stdin>"


def run_fmt(paths: list[str], check: bool = False, diff: bool = False, quiet: bool = False) -> int:
    """Format ``paths`` (files, folders, or ``-``); return the exit status."""
    if "-" in paths:
        if len(paths) > 1:
            sys.stderr.write(
                "archdsl fmt: error: '-' (standard input) cannot be combined with files\n"
                "  = help: format standard input on its own: archdsl fmt - < FILE\n"
            )
            return EXIT_USAGE
        return _stdin(check, diff)
    run = _Run(check=check, diff=diff)
    for path in _files([Path(p) for p in paths]):
        run.one(path)
    print_diagnostics(run.diags, run.sources)
    if not quiet:
        run.summary()
    if run.write_failed:
        return EXIT_TOOL
    return EXIT_SPEC if run.diags or ((check or diff) and run.changed) else EXIT_OK


def _files(paths: list[Path]) -> list[Path]:
    """Files as given (a missing one is reported when read), folders as their ``*.arch`` files."""
    if not any(p.is_dir() for p in paths):
        return paths
    from archdsl.syntax.sources import expand_paths  # the folder search of ``archdsl lint``

    return expand_paths(paths)


class _Run:
    def __init__(self, check: bool, diff: bool):
        self.check, self.diff = check, diff
        self.sources = SourceMap()
        self.diags: list[Diagnostic] = []
        self.changed: list[str] = []
        self.unchanged = 0
        self.write_failed = False

    def one(self, path: Path) -> None:
        from archdsl.fmt import format_text
        from archdsl.syntax.sources import read_spec  # what ``archdsl check`` reads, and how it refuses

        label = str(path)
        try:
            text, size = read_spec(path, label, None, self.sources)
            self.sources.add(label, text)
            out = format_text(text, label)
        except DiagnosticError as exc:
            self.diags.extend(_located(exc.diagnostics, label))
            return
        if out == text and len(out.encode("utf-8")) == size:  # no BOM or CR went missing either
            self.unchanged += 1
            return
        self.changed.append(label)
        if self.diff:
            sys.stdout.write(unified_diff(text, out, label))
        if self.check:
            if not self.diff:
                sys.stdout.write(label + "\n")
        elif not self.diff:
            self.write(path, out)

    def write(self, path: Path, out: str) -> None:
        from archdsl.fileio import OutputError, atomic_write, forget_inputs

        forget_inputs()  # the file was read as an input; rewriting it is the point of fmt
        try:
            atomic_write(path, out)
        except (OutputError, OSError) as exc:
            why = exc.message if isinstance(exc, OutputError) else (exc.strerror or str(exc))
            sys.stderr.write(f"archdsl: error: cannot write {path}: {why}\n  = help: the file is left as it was\n")
            self.changed.remove(str(path))
            self.write_failed = True

    def summary(self) -> None:
        n, m = len(self.changed), self.unchanged
        files = lambda k: f"{k} file{'s' if k != 1 else ''}"  # noqa: E731
        verb = "would be reformatted" if (self.check or self.diff) else "reformatted"
        parts = [f"{files(n)} {verb}"] if n else []
        if m:
            parts.append(f"{files(m)} already formatted")
        if self.diags:
            parts.append(f"{files(len({d.span.file for d in self.diags if d.span}))} with errors")
        sys.stderr.write(", ".join(parts or ["no spec files"]) + "\n")
        if n and (self.check or self.diff):
            sys.stderr.write("  = help: `archdsl fmt FILES` rewrites them in the canonical layout\n")


def _located(diags: list[Diagnostic], label: str) -> list[Diagnostic]:
    from archdsl.cli.common import _with_file

    return _with_file(diags, Path(label))


def unified_diff(old: str, new: str, label: str) -> str:
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), label, label)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _stdin(check: bool, diff: bool) -> int:
    from archdsl.fmt import format_text
    from archdsl.syntax.parser import MAX_SOURCE_BYTES
    from archdsl.syntax.sources import decode_source

    sources = SourceMap()
    data = sys.stdin.buffer.read(MAX_SOURCE_BYTES + 1)
    try:
        if len(data) > MAX_SOURCE_BYTES:
            raise DiagnosticError(
                Diagnostic(
                    "E105",
                    f"standard input is larger than {MAX_SOURCE_BYTES // (1024 * 1024)} MiB",
                    None,
                    help=f"spec files are limited to {MAX_SOURCE_BYTES // (1024 * 1024)} MiB",
                )
            )
        text = decode_source(data, STDIN, None, sources)
        sources.add(STDIN, text)
        out = format_text(text, STDIN)
    except DiagnosticError as exc:
        print_diagnostics(_located(exc.diagnostics, STDIN), sources)
        return EXIT_SPEC
    changed = out.encode("utf-8") != data
    if diff and changed:
        sys.stdout.write(unified_diff(text, out, STDIN))
    elif check:
        if changed:
            sys.stdout.write(STDIN + "\n")
    elif not diff:
        sys.stdout.write(out)
    return EXIT_SPEC if (check or diff) and changed else EXIT_OK
