"""Loading a spec file and everything it imports into one :class:`Program`.

``import std`` brings the standard library (``archdsl/stdlib/std.arch``); ``import "x.arch"``
brings a file relative to the importing one. Cycles and missing files are located errors.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from archdsl import fileio
from archdsl.diagnostics import Diagnostic, DiagnosticError, SourceMap, Span, did_you_mean, error
from archdsl.ops import OPS
from archdsl.syntax import ast, parse_text
from archdsl.syntax.parser import MAX_SOURCE_BYTES

LIBRARIES = {"std": "std.arch"}
STD_PREFIX = "<std>/"


def library_text(name: str) -> str:
    return (files("archdsl.stdlib") / LIBRARIES[name]).read_text(encoding="utf-8")


@dataclass
class Program:
    root: ast.Module
    sources: SourceMap
    blocks: dict[str, ast.BlockDef] = field(default_factory=dict)
    nets: dict[str, ast.NetDef] = field(default_factory=dict)
    libraries: set[str] = field(default_factory=set)
    texts: dict[str, str] = field(default_factory=dict)

    @property
    def source_hash(self) -> str:
        h = hashlib.sha256()
        for name in sorted(self.texts):
            h.update(name.encode() if name.startswith(STD_PREFIX) else b"")
            h.update(self.texts[name].encode())
        return h.hexdigest()

    def std_blocks(self) -> set[str]:
        return {b.name for b in _std_module(self.sources).blocks}


_STD_CACHE: dict[str, ast.Module] = {}


def _std_module(sources: SourceMap) -> ast.Module:
    label = STD_PREFIX + LIBRARIES["std"]
    text = library_text("std")
    sources.add(label, text)
    if label not in _STD_CACHE:
        _STD_CACHE[label] = parse_text(text, label)
    return _STD_CACHE[label]


def _read(path: Path, label: str, span: Span | None) -> str:
    try:  # bounded, regular files only, and recorded as an input that no artefact may replace
        data = fileio.read_input(path, MAX_SOURCE_BYTES, label)
    except fileio.InputError as exc:
        too_large = exc.reason == "too_large"
        raise error(
            "E105" if too_large else "E602", exc.message, span or (Span(label, 1, 1, 1, 2) if too_large else None)
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error("E107", f"'{label}' is not UTF-8 text (byte {exc.start})", span) from None


def load_program(path: str | Path, text: str | None = None, sources: SourceMap | None = None) -> Program:
    """Parse ``path`` (or ``text`` labelled as ``path``) and its imports."""
    sources = sources or SourceMap()
    path = Path(path)
    label = str(path)
    if text is None:
        text = _read(path, label, None)
    sources.add(label, text)
    root = parse_text(text, label)
    prog = Program(root, sources)
    prog.texts[label] = text
    diags: list[Diagnostic] = []
    origin: dict[str, Span] = {}
    root_key = str(path.resolve())
    _collect(prog, root, Path(root_key), [(root_key, label)], origin, diags, seen=set())
    if diags:
        raise DiagnosticError(diags)
    return prog


def _add_defs(prog: Program, mod: ast.Module, origin: dict[str, Span], diags: list[Diagnostic]) -> None:
    for b in mod.blocks:
        if b.name in OPS:
            diags.append(
                Diagnostic(
                    "E211",
                    f"block '{b.name}' has the name of a primitive op",
                    b.name_span,
                    help="choose another name; primitive ops cannot be redefined",
                )
            )
            continue
        if _first_definition(b.name, b.name_span, origin, diags):
            prog.blocks[b.name] = b
    for n in mod.nets:
        if _first_definition(n.name, n.name_span, origin, diags):
            prog.nets[n.name] = n


def _first_definition(name: str, span: Span, origin: dict[str, Span], diags: list[Diagnostic]) -> bool:
    """Record a definition; a second one of the same name (elsewhere) is E210."""
    if name in origin:
        if origin[name] != span:
            diags.append(
                Diagnostic("E210", f"'{name}' is defined twice", span, notes=(f"first defined at {origin[name]}",))
            )
        return False
    origin[name] = span
    return True


def _collect(
    prog: Program,
    mod: ast.Module,
    path: Path,
    stack: list[tuple[str, str]],
    origin: dict[str, Span],
    diags: list[Diagnostic],
    seen: set[str],
) -> None:
    for imp in mod.imports:
        if not imp.is_path:
            if imp.target not in LIBRARIES:
                diags.append(
                    Diagnostic(
                        "E603",
                        f"unknown library '{imp.target}'",
                        imp.span,
                        help=did_you_mean(imp.target, set(LIBRARIES))
                        or 'libraries: std; to import a file write import "path/to/file.arch"',
                    )
                )
                continue
            if imp.target in prog.libraries:
                continue
            prog.libraries.add(imp.target)
            std = _std_module(prog.sources)
            prog.texts[STD_PREFIX + LIBRARIES["std"]] = library_text("std")
            _add_defs(prog, std, origin, diags)
            continue
        target = (path.parent / imp.target) if not Path(imp.target).is_absolute() else Path(imp.target)
        label = (
            os.path.normpath(str(Path(stack[-1][1]).parent / imp.target))
            if not Path(imp.target).is_absolute()
            else imp.target
        )
        key = str(target.resolve())
        if key in {k for k, _ in stack}:
            chain = " → ".join([lbl for _, lbl in stack] + [label])
            diags.append(Diagnostic("E601", "import cycle", imp.span, notes=(chain,)))
            continue
        if key in seen:
            continue
        seen.add(key)
        try:
            text = _read(target, label, imp.span)
            prog.sources.add(label, text)
            prog.texts[label] = text
            sub = parse_text(text, label)
        except DiagnosticError as exc:
            diags.extend(exc.diagnostics)
            continue
        _collect(prog, sub, target.resolve(), [*stack, (key, label)], origin, diags, seen)
        _add_defs(prog, sub, origin, diags)
    if len(stack) == 1:
        _add_defs(prog, mod, origin, diags)
