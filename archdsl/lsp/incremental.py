"""Incremental parsing for the language server: an edit re-parses only the definitions it touched.

Parsing costs about 40 µs a token (Lark's LALR parser and the AST transformer), so a 5,000-line
spec takes a second to parse, on every keystroke. Most keystrokes change one definition. The text
is cut into *chunks* at the top-level boundaries between definitions (a line that starts with
``import``, ``block``, ``net`` or ``space`` outside any bracket, moved up over the comment lines directly
above it, which are the definition's documentation), and each chunk is parsed on its own, padded
with newlines so that its lines and columns are those of the whole text. A chunk whose text was
parsed before is taken from the cache; one that only moved (lines were added above it) gets the
cached AST with its spans shifted, which is cheaper than parsing.

The result is the very module :func:`archdsl.syntax.parse_text` returns for the whole text, and a
syntax error is the very diagnostic it raises: the grammar's top level is ``_item*``, so the parser
is in the same state at the start of every chunk whether it parses the chunk alone or after the
chunks before it, and the follow set of an item is the same (``import``, ``block``, ``net``, ``space``
or the end). The one difference is at a chunk's end: a definition cut short there (E102, unexpected end of
file) would have met the next chunk's first token instead; the whole text is then parsed at once.
So is text with a NUL character (``parse_text`` reports the first one before any syntax error).
``tests/test_lsp_incremental.py`` compares the two on every spec and on random edits.

A long definition (a net of thousands of statements) is itself cut, between statements: at lines
inside its body that start an assignment (``name = ...``). The pieces between the first and the
last such cut are parsed inside a stand-in ``net __piece__ { ... }`` whose header sits on the line
above the piece; the rest (the definition's header, its first and last statements, its closing
brace, with the pieces' lines left blank) is parsed as the definition. An ``=`` after a name can
only start a statement at that depth, so each cut is a statement boundary whenever the pieces
parse; if any piece or the rest does not, the definition is parsed whole, for the exact error.

For broken text :attr:`ParseResult.module` keeps the definitions that did parse, for the editor
features (completion, hover, go to definition on the rest of the file).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import zlib
from dataclasses import dataclass

from archdsl.diagnostics import DiagnosticError, Span, normalize_source
from archdsl.syntax import ast, parse_text
from archdsl.syntax.parser import MAX_TOKENS, count_tokens, too_many_tokens

_ITEM_START = re.compile(r"[ \t\f]*(import|block|net|space)(?![A-Za-z0-9_])")
_STMT_START = re.compile(r"[ \t\f]*[A-Za-z_][A-Za-z0-9_]*[ \t\f]*=(?!=)")
BIG_DEF_LINES = 120  # a chunk this long is parsed in pieces of statements
PIECE_LINES = 40  # at least this many lines to a piece
_OPEN, _CLOSE = "([{", ")]}"


@dataclass(frozen=True)
class Chunk:
    line: int  # the 1-based line of the whole text where the chunk starts
    text: str


_SKIP = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#.*')


def _depth_after(line: str, depth: int) -> int:
    """The bracket depth after one line, strings and comments skipped as the lexer skips them.

    Only a guess for text that is not well formed (a stray closer is forgotten at the line's end):
    a cut at a wrong depth makes a chunk that does not parse, and the whole text is parsed then.
    """
    if '"' in line or "#" in line:
        line = _SKIP.sub("", line)
    opens = line.count("(") + line.count("[") + line.count("{")
    closes = line.count(")") + line.count("]") + line.count("}")
    return max(0, depth + opens - closes)


def split_chunks(text: str) -> list[Chunk]:
    """``text`` (normalised) cut before each top-level definition and the comments above it."""
    lines = text.split("\n")
    starts = [0]
    depth = 0
    code = False  # the chunk so far has more than blank lines and comments
    for i, line in enumerate(lines):
        if depth == 0 and code and _ITEM_START.match(line):
            j = i
            while lines[j - 1].strip().startswith("#"):
                j -= 1
            starts.append(j)
            code = False
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            code = True
        depth = _depth_after(line, depth)
    bounds = [*starts, len(lines)]
    out = []
    for a, b in itertools.pairwise(bounds):
        body = "\n".join(lines[a:b])
        if b < len(lines):
            body += "\n"
        out.append(Chunk(a + 1, body))
    return out


# ---- shifting a cached AST to other lines ---------------------------------------------------

_FIELDS: dict[type, tuple[str, ...]] = {}
_ATOMS = (str, int, float)


def _shift(obj, delta: int):
    """A copy of an AST fragment with every span ``delta`` lines further down."""
    if obj is None or isinstance(obj, _ATOMS):
        return obj
    if isinstance(obj, Span):
        return Span(obj.file, obj.line + delta, obj.col, obj.end_line + delta, obj.end_col)
    if isinstance(obj, tuple):
        return tuple([_shift(x, delta) for x in obj])
    if isinstance(obj, list):
        return [_shift(x, delta) for x in obj]
    cls = type(obj)
    names = _FIELDS.get(cls)
    if names is None:
        if not dataclasses.is_dataclass(obj):
            return obj  # str, int, float, bool, None
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(obj))
    if not names:
        return obj
    copy = object.__new__(cls)  # the AST's frozen dataclasses, filled without their __init__
    copy.__dict__.update({k: _shift(v, delta) for k, v in obj.__dict__.items()})
    return copy


def _merge(label: str, parts: list[ast.Module]) -> ast.Module:
    mod = ast.Module(label)
    for p in parts:
        mod.imports.extend(p.imports)
        mod.blocks.extend(p.blocks)
        mod.nets.extend(p.nets)
        mod.spaces.extend(p.spaces)
    return mod


def _cuts(lines: list[str]) -> list[int]:
    """Indexes of the lines where a long definition's body is cut: assignments at depth 1.

    Where to cut depends on the lines' text (a CRC of the line picks about one assignment in
    :data:`PIECE_LINES`), not on their positions, so a line added or removed moves no cut but its
    neighbours': the other pieces keep their text and come from the cache. The first and the last
    assignment are cuts too, so that what is parsed as the definition itself is short.
    """
    cuts: list[int] = []
    last = None
    depth = 0
    for i, line in enumerate(lines):
        if depth == 1 and i > 0 and _STMT_START.match(line):
            last = i
            gap = i - cuts[-1] if cuts else None
            pick = zlib.crc32(line.encode("utf-8", "surrogatepass")) % PIECE_LINES == 0
            if gap is None or (gap >= PIECE_LINES // 4 and (pick or gap >= 4 * PIECE_LINES)):
                cuts.append(i)  # the first assignment always: the definition's own part stays small
        depth = _depth_after(line, depth)
    if last is not None and cuts and last > cuts[-1]:
        cuts.append(last)  # and the last, likewise
    return cuts


@dataclass
class ParseResult:
    module: ast.Module  # every chunk that parsed (the whole file when ``error`` is None)
    error: DiagnosticError | None
    chunks: int = 0
    parsed: int = 0  # chunks parsed afresh (the others came from the cache)


class IncrementalParser:
    """``parser(text, label)`` is :func:`archdsl.syntax.parse_text`, with a cache of chunks per label."""

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, tuple[int, ast.Module]]] = {}
        self.results: dict[str, ParseResult] = {}

    def __call__(self, text: str, label: str) -> ast.Module:
        res = self.parse(text, label)
        if res.error is not None:
            raise res.error
        return res.module

    def parse(self, text: str, label: str) -> ParseResult:
        res = self._parse(normalize_source(text), label)
        self.results[label] = res
        return res

    def _parse(self, text: str, label: str) -> ParseResult:
        if "\x00" in text:
            return self._whole(text, label)
        old = self._cache.get(label, {})
        new: dict = {}
        chunks = split_chunks(text)
        if len(text) > MAX_TOKENS and self._tokens(chunks, old, new) > MAX_TOKENS:
            _, over = count_tokens(text, MAX_TOKENS)  # where exactly, as parse_text says it
            if over is not None:
                return ParseResult(ast.Module(label), too_many_tokens(text, over, label, _TOO_MANY))
        parts: list[ast.Module] = []
        error: DiagnosticError | None = None
        parsed = 0
        for i, chunk in enumerate(chunks):
            hit = old.get(chunk.text) or new.get(chunk.text)
            if hit is not None:
                line, mod = hit
                if line != chunk.line:
                    mod = _shift(mod, chunk.line - line)
            else:
                parsed += 1
                try:
                    mod = self._chunk(chunk, label, old, new)
                except DiagnosticError as exc:
                    if error is None:
                        if i < len(chunks) - 1 and any(d.code == "E102" for d in exc.diagnostics):
                            return self._whole(text, label, parts)
                        error = exc
                    continue
            new[chunk.text] = (chunk.line, mod)
            parts.append(mod)
        self._cache[label] = new
        return ParseResult(_merge(label, parts), error, len(chunks), parsed)

    @staticmethod
    def _tokens(chunks: list[Chunk], old: dict, new: dict) -> int:
        """The tokens of the text: each chunk's count, remembered (no token spans two lines)."""
        total = 0
        for c in chunks:
            key = ("tokens", c.text)
            n = old.get(key) or new.get(key)
            if n is None:
                n = count_tokens(c.text, MAX_TOKENS + 1)[0]
            new[key] = n
            total += n
        return total

    def _chunk(self, chunk: Chunk, label: str, old: dict, new: dict) -> ast.Module:
        """One chunk's module: in pieces if it is long and they parse, else at once."""
        if chunk.text.count("\n") >= BIG_DEF_LINES:
            mod = self._pieces(chunk, label, old, new)
            if mod is not None:
                return mod
        return parse_text("\n" * (chunk.line - 1) + chunk.text, label)

    def _pieces(self, chunk: Chunk, label: str, old: dict, new: dict) -> ast.Module | None:
        lines = chunk.text.split("\n")
        cuts = _cuts(lines)
        if len(cuts) < 2:
            return None
        first, last = chunk.line + cuts[0], chunk.line + cuts[-1]
        rest = "\n".join([*lines[: cuts[0]], *([""] * (cuts[-1] - cuts[0])), *lines[cuts[-1] :]])
        middle: list = []
        try:
            skeleton = self._cached(
                ("rest", rest), chunk.line, old, new, lambda: parse_text("\n" * (chunk.line - 1) + rest, label)
            )
            for a, b in itertools.pairwise(cuts):
                text = "\n".join(lines[a:b]) + "\n"
                line = chunk.line + a
                piece = self._cached(
                    ("piece", text),
                    line,
                    old,
                    new,
                    lambda t=text, n=line: parse_text("\n" * (n - 2) + "net __piece__ {\n" + t + "}", label),
                )
                middle.extend(piece.nets[0].body)
        except DiagnosticError:
            return None
        defs = [*skeleton.blocks, *skeleton.nets]
        if len(defs) != 1 or skeleton.imports:
            return None
        d = defs[0]
        body = (
            *(s for s in d.body if s.span.line < first),
            *middle,
            *(s for s in d.body if s.span.line >= last),
        )
        whole = dataclasses.replace(d, body=body)
        mod = ast.Module(label)
        (mod.blocks if isinstance(d, ast.BlockDef) else mod.nets).append(whole)
        return mod

    @staticmethod
    def _cached(key, line: int, old: dict, new: dict, parse) -> ast.Module:
        hit = old.get(key) or new.get(key)
        if hit is None:
            mod = parse()
        else:
            mod = hit[1] if hit[0] == line else _shift(hit[1], line - hit[0])
        new[key] = (line, mod)
        return mod

    def _whole(self, text: str, label: str, parts: list[ast.Module] | None = None) -> ParseResult:
        """The whole text at once (the exact error where chunks could differ); partial: ``parts``."""
        try:
            mod = parse_text(text, label)
        except DiagnosticError as exc:
            return ParseResult(_merge(label, parts or []), exc, 1, 1)
        return ParseResult(mod, None, 1, 1)


_TOO_MANY = f"the file has more than {MAX_TOKENS:,} tokens"
