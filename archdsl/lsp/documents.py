"""The open documents: their current text, their latest analyses, and views that line the two up.

A document's text changes with every keystroke; its analysis comes a little later and may be of
an older text (or of a text that did not parse: then the *good* analysis, the latest whose nets
resolved, still knows the IR). A :class:`View` answers a request on the current text from such
an analysis: lines the two texts share (everything before the first changed line, everything
after the last) are mapped both ways, so a hover on an untouched line finds its place in the old
analysis, and the ranges it returns land where that text is now. A request on a changed line
gets no stale answer.

Also here: the file name archdsl gives a document (its path: imports are relative to it, the
lint configuration is the nearest ``pyproject.toml``), and the URIs of the files spans name,
the standard library's included (the real ``std.arch`` of the installed package).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

from archdsl.diagnostics import Span, normalize_source
from archdsl.lsp.analysis import Analysis
from archdsl.lsp.incremental import IncrementalParser
from archdsl.lsp.positions import UTF16, LineIndex
from archdsl.resolve.program import LIBRARIES, STD_PREFIX


def std_path(name: str = "std") -> Path | None:
    """The installed file of a library (``std`` → ``archdsl/stdlib/std.arch``)."""
    res = files("archdsl.stdlib") / LIBRARIES[name]
    p = Path(str(res))
    return p if p.is_file() else None


def label_uri(label: str) -> str | None:
    """The URI of the file a span's label names (None for text that is in no file)."""
    if label.startswith(STD_PREFIX):
        name = label[len(STD_PREFIX) :]
        lib = next((k for k, v in LIBRARIES.items() if v == name), None)
        p = std_path(lib) if lib else None
        return from_fs_path(str(p)) if p is not None else None
    if label.startswith("<"):
        return None
    return from_fs_path(str(Path(label).absolute()))


def document_path(uri: str) -> Path:
    """The path archdsl labels a document with; an untitled document is named after its URI."""
    p = to_fs_path(uri)
    if p and uri.startswith("file:"):
        return Path(p)
    tail = uri.rsplit("/", 1)[-1] or "untitled"
    return Path(tail if tail.endswith(".arch") else tail + ".arch")


@dataclass
class Document:
    uri: str
    text: str
    version: int | None
    path: Path
    language_id: str = "archdsl"
    parser: IncrementalParser = field(default_factory=IncrementalParser)
    latest: Analysis | None = None  # the most recent analysis
    good: Analysis | None = None  # the most recent one whose nets resolved (the IR)
    dirty: bool = True
    closed: bool = False
    sleeper: asyncio.Task | None = None
    worker: asyncio.Task | None = None
    _index: LineIndex | None = field(default=None, repr=False)
    _views: list[View] = field(default_factory=list, repr=False)

    def lines(self, encoding: str = UTF16) -> LineIndex:
        if self._index is None or self._index.text is not self.text or self._index.encoding != encoding:
            self._index = LineIndex(self.text, encoding)
        return self._index

    def set_text(self, text: str, version: int | None) -> None:
        self.text = text
        self.version = version
        self.dirty = True

    def record(self, analysis: Analysis) -> None:
        if self.latest is None or analysis.version is None or (self.latest.version or -1) <= analysis.version:
            self.latest = analysis
        if analysis.has_ir:
            self.good = analysis

    def analyses(self) -> list[Analysis]:
        """The analyses to answer from, best first: the latest, then the last good one."""
        out = [a for a in (self.latest, self.good) if a is not None]
        return out[:1] if len(out) == 2 and out[0] is out[1] else out

    def view(self, analysis: Analysis, encoding: str = UTF16) -> View:
        """The view of ``analysis`` from the current text (kept until either changes)."""
        lines = self.lines(encoding)
        for v in self._views:
            if v.analysis is analysis and v.lines is lines:
                return v
        v = View(analysis, self.text, lines)
        self._views = [v, *self._views[:1]]  # the latest and the good analysis
        return v


class View:
    """An analysis seen from the current text: positions mapped through the unchanged lines.

    The lines before the first change and after the last map by offset; between them, the lines
    a diff finds equal (:class:`difflib.SequenceMatcher` on that middle part only).
    """

    def __init__(self, analysis: Analysis, text: str, lines: LineIndex):
        self.analysis = analysis
        self.lines = lines  # of the current text
        old = normalize_source(analysis.text).split("\n")
        new = normalize_source(text).split("\n")
        n = min(len(old), len(new))
        head = 0
        while head < n and old[head] == new[head]:
            head += 1
        tail = 0
        while tail < n - head and old[-1 - tail] == new[-1 - tail]:
            tail += 1
        self._old_len, self._new_len, self._head, self._tail = len(old), len(new), head, tail
        self.identical = head == len(old) == len(new)
        self.new_lines = new
        self._fwd: dict[int, int] = {}
        self._back: dict[int, int] = {}
        mid_old, mid_new = old[head : len(old) - tail], new[head : len(new) - tail]
        if mid_old and mid_new:
            import difflib

            sm = difflib.SequenceMatcher(None, mid_old, mid_new, autojunk=False)
            for a, b, size in sm.get_matching_blocks():
                for k in range(size):
                    self._fwd[head + a + k + 1] = head + b + k + 1
                    self._back[head + b + k + 1] = head + a + k + 1

    def to_old(self, line: int) -> int | None:
        """A 1-based line of the current text → the same line in the analysed text, if unchanged."""
        if line <= self._head:
            return line
        back = self._new_len - line  # lines after it
        if back < self._tail:
            return self._old_len - back
        return self._back.get(line)

    def to_new(self, line: int) -> int | None:
        if line <= self._head:
            return line
        back = self._old_len - line
        if back < self._tail:
            return self._new_len - back
        return self._fwd.get(line)

    def point(self, pos: types.Position) -> tuple[int, int] | None:
        """The cursor as (line, col) of the analysed text, or None when its line has changed since."""
        line, col = self.lines.point(pos)
        old = self.to_old(line)
        return (old, col) if old is not None else None

    def span(self, span: Span) -> Span | None:
        """A span of the analysed text where it now is (None if its lines changed)."""
        a, b = self.to_new(span.line), self.to_new(span.end_line)
        if a is None or b is None:
            return None
        return Span(span.file, a, span.col, b, span.end_col)

    def range(self, span: Span) -> types.Range | None:
        """The LSP range, in the current text, of a span of the analysed text in this document."""
        if span.line <= 0:
            return self.lines.range(span)
        moved = self.span(span)
        return self.lines.range(moved) if moved is not None else None
