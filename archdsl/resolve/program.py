"""Loading a spec file and everything it imports into one :class:`Program`.

``import std`` brings the standard library (``archdsl/stdlib/std.arch``); ``import "x.arch"``
brings a file relative to the importing one. Cycles and missing files are located errors. Files are
read through :func:`archdsl.fileio.read_input`: regular files only (a FIFO, a device or a directory
is refused without blocking), never more than :data:`MAX_SOURCE_BYTES` + 1 bytes.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from archdsl.diagnostics import (
    Diagnostic,
    DiagnosticError,
    SourceMap,
    Span,
    did_you_mean,
    error,
    normalize_source,
)
from archdsl.ops import OPS
from archdsl.resolve.gcpause import paused_gc
from archdsl.syntax import ast, parse_text
from archdsl.syntax.parser import MAX_SOURCE_BYTES, MAX_TOKENS, count_tokens, too_many_tokens
from archdsl.syntax.sources import read_spec

LIBRARIES = {"std": "std.arch"}
STD_PREFIX = "<std>/"
_MIB = MAX_SOURCE_BYTES // (1024 * 1024)
MAX_IMPORT_DEPTH = 64  # files importing files importing files ...
MAX_FILES = 256  # files in one program, the root included
MAX_PROGRAM_BYTES = 4 * MAX_SOURCE_BYTES  # all of them together
MAX_PROGRAM_TOKENS = MAX_TOKENS  # likewise: what parsing costs (the standard library not counted)


def library_text(name: str) -> str:
    return (files("archdsl.stdlib") / LIBRARIES[name]).read_text(encoding="utf-8")


@dataclass
class Program:
    root: ast.Module
    sources: SourceMap
    blocks: dict[str, ast.BlockDef] = field(default_factory=dict)
    nets: dict[str, ast.NetDef] = field(default_factory=dict)
    spaces: dict[str, ast.SpaceDef] = field(default_factory=dict)  # search spaces (archdsl/space/)
    libraries: set[str] = field(default_factory=set)
    texts: dict[str, str] = field(default_factory=dict)
    # the texts of the files in a canonical order (the root, then each imported file where it is
    # first imported) for the hash: how a path was spelled (the labels) is no part of it
    file_texts: list[str] = field(default_factory=list, repr=False)
    _std_names: frozenset[str] | None = field(default=None, repr=False)

    @property
    def source_hash(self) -> str:
        """sha256 over the content of every source: the files in import order, then the libraries by name."""
        h = hashlib.sha256()
        parts = [("file", "", text) for text in self.file_texts]
        parts += [("library", name, library_text(name)) for name in sorted(self.libraries)]
        for kind, name, text in parts:
            data = text.encode("utf-8", "surrogatepass")
            h.update(f"{kind}:{name}:{len(data)}\n".encode())
            h.update(data)
        return h.hexdigest()

    def std_blocks(self) -> frozenset[str]:
        """The names of the standard library's blocks (read once: every E201 asks)."""
        if self._std_names is None:
            self._std_names = frozenset(b.name for b in _std_module(self.sources).blocks)
        return self._std_names


_STD_CACHE: dict[str, ast.Module] = {}


def _std_module(sources: SourceMap) -> ast.Module:
    label = STD_PREFIX + LIBRARIES["std"]
    text = library_text("std")
    sources.add(label, text)
    if label not in _STD_CACHE:
        _STD_CACHE[label] = parse_text(text, label)
    return _STD_CACHE[label]


def load_program(
    path: str | Path,
    text: str | None = None,
    sources: SourceMap | None = None,
    parse: Callable[[str, str], ast.Module] = parse_text,
) -> Program:
    """Parse ``path`` (or ``text`` labelled as ``path``) and its imports.

    ``parse`` (text, label) → module parses each file; the language server passes one that reuses
    the unchanged definitions of the previous parse (``archdsl/lsp/incremental.py``).
    """
    with paused_gc():
        return _load_program(path, text, sources, parse)


def _load_program(
    path: str | Path, text: str | None, sources: SourceMap | None, parse: Callable[[str, str], ast.Module]
) -> Program:
    sources = sources if sources is not None else SourceMap()
    path = Path(path)
    label = str(path)
    if text is None:
        text, size = read_spec(path, label, None, sources)
    else:  # text handed over in memory: the same limit as a file's, checked here once
        size = len(text) if len(text) > MAX_SOURCE_BYTES else len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_SOURCE_BYTES:
            raise error(
                "E105", f"'{label}' is larger than {_MIB} MiB", None, help=f"spec files are limited to {_MIB} MiB"
            )
        text = normalize_source(text)
    sources.add(label, text)
    loader = _Loader(sources, parse)
    loader.account(text, size, label, None)
    root = parse(text, label)
    prog = loader.prog = Program(root, sources)
    prog.texts[label] = text
    prog.file_texts.append(text)
    root_key = os.path.realpath(path)
    loader.collect(root, Path(root_key), [(root_key, label)])
    if loader.diags:
        raise DiagnosticError(loader.diags)
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
    for sp in mod.spaces:
        if _first_definition(sp.name, sp.name_span, origin, diags):
            prog.spaces[sp.name] = sp


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


class _Loader:
    """Walks the imports of a program depth-first, within the limits on depth, files and bytes."""

    def __init__(self, sources: SourceMap, parse: Callable[[str, str], ast.Module] = parse_text):
        self.sources = sources
        self.parse = parse
        self.prog: Program
        self.origin: dict[str, Span] = {}
        self.diags: list[Diagnostic] = []
        self.seen: set[str] = set()
        self.bytes = 0
        self.tokens = 0

    def account(self, text: str, size: int, label: str, span: Span | None) -> None:
        """Count a file against the limits of a whole program (E604; E105 for the spec alone)."""
        self.bytes += size
        if self.bytes > MAX_PROGRAM_BYTES:
            raise error(
                "E604",
                f"the spec and its imports are larger than {MAX_PROGRAM_BYTES // (1024 * 1024)} MiB together",
                span,
                help="split the work into several specs",
            )
        n, over = count_tokens(text, MAX_PROGRAM_TOKENS - self.tokens)
        if over is not None:
            if span is None:  # the spec itself
                raise too_many_tokens(text, over, label, f"the file has more than {MAX_PROGRAM_TOKENS:,} tokens")
            exc = too_many_tokens(
                text, over, label, f"the spec and its imports have more than {MAX_PROGRAM_TOKENS:,} tokens together"
            )
            d = exc.diagnostics[0]
            raise DiagnosticError(
                Diagnostic("E604", d.message, d.span, help=d.help, notes=(f"imported at {span}",) if span else ())
            )
        self.tokens += n

    def collect(self, mod: ast.Module, path: Path, stack: list[tuple[str, str]]) -> None:
        prog, origin, diags = self.prog, self.origin, self.diags
        for imp in mod.imports:
            if not imp.is_path:
                self._library(imp)
                continue
            target = (path.parent / imp.target) if not Path(imp.target).is_absolute() else Path(imp.target)
            label = (
                os.path.normpath(str(Path(stack[-1][1]).parent / imp.target))
                if not Path(imp.target).is_absolute()
                else imp.target
            )
            key = os.path.realpath(target)  # unlike Path.resolve, never raises on a symbolic-link loop
            if key in {k for k, _ in stack}:
                chain = " → ".join([lbl for _, lbl in stack] + [label])
                diags.append(Diagnostic("E601", "import cycle", imp.span, notes=(chain,)))
                continue
            if key in self.seen:
                continue
            self.seen.add(key)
            self._within_limits(imp, stack)
            try:
                text, size = read_spec(target, label, imp.span, prog.sources)
                prog.sources.add(label, text)
                self.account(text, size, label, imp.span)
                prog.texts[label] = text
                prog.file_texts.append(text)
                sub = self.parse(text, label)
            except DiagnosticError as exc:
                if any(d.code == "E604" for d in exc.diagnostics):
                    raise
                diags.extend(exc.diagnostics)
                continue
            self.collect(sub, Path(key), [*stack, (key, label)])
            _add_defs(prog, sub, origin, diags)
        if len(stack) == 1:
            _add_defs(prog, mod, origin, diags)

    def _within_limits(self, imp: ast.Import, stack: list[tuple[str, str]]) -> None:
        """Deep or wide imports stop the loading at once (E604), before the next file is read."""
        if len(stack) > MAX_IMPORT_DEPTH:
            raise error(
                "E604",
                f"imports are nested more than {MAX_IMPORT_DEPTH} files deep",
                imp.span,
                help=f"the chain starts at '{stack[0][1]}'; imports may nest {MAX_IMPORT_DEPTH} deep",
            )
        if len(self.seen) >= MAX_FILES:
            raise error(
                "E604",
                f"too many files: the spec and its imports are more than {MAX_FILES} files",
                imp.span,
                help=f"a program has at most {MAX_FILES} files, the spec included",
            )

    def _library(self, imp: ast.Import) -> None:
        prog = self.prog
        if imp.target not in LIBRARIES:
            self.diags.append(
                Diagnostic(
                    "E603",
                    f"unknown library '{imp.target}'",
                    imp.span,
                    help=did_you_mean(imp.target, set(LIBRARIES))
                    or 'libraries: std; to import a file write import "path/to/file.arch"',
                )
            )
            return
        if imp.target in prog.libraries:
            return
        prog.libraries.add(imp.target)
        std = _std_module(prog.sources)
        prog.texts[STD_PREFIX + LIBRARIES["std"]] = library_text("std")
        _add_defs(prog, std, self.origin, self.diags)
