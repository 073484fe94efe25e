"""Go to definition and find references.

Definition: a block (in this file, an imported file or the standard library, whose location is
the installed ``std.arch``), a net named by ``extends``, an import (the file it reads), a named
tensor, a net's input, a parameter (also from a keyword argument that sets it). References: the
uses of a block, in every open document whose program has that very block (the same definition),
calls and the strings that name it (``act = "my_block"``, as the unused-block rule counts them).
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path

from archdsl.diagnostics import Span
from archdsl.lsp import lookup
from archdsl.lsp.documents import Document, View, label_uri, std_path
from archdsl.lsp.index import Meaning
from archdsl.lsp.positions import LineIndex


def _meaning_at(doc: Document, pos: types.Position, encoding: str) -> tuple[Meaning, View, object] | None:
    for analysis in doc.analyses():
        view = doc.view(analysis, encoding)
        pt = view.point(pos)
        idx = lookup.index_for(analysis) if pt is not None else None
        occ = idx.at(*pt) if idx is not None and pt is not None else None
        if occ is not None:
            return idx.resolve(occ), view, occ
    return None


def _location(span: Span, doc: Document, view: View, texts: dict[str, str]) -> types.Location | None:
    """An LSP location for a span of the analysed program (this document or another file)."""
    if span.file == view.analysis.label:
        rng = view.range(span)
        return types.Location(uri=doc.uri, range=rng) if rng is not None else None
    uri = label_uri(span.file)
    if uri is None:
        return None
    text = texts.get(span.file)
    rng = (
        LineIndex(text, view.lines.encoding).range(span)
        if text is not None
        else types.Range(
            start=types.Position(line=max(span.line - 1, 0), character=max(span.col - 1, 0)),
            end=types.Position(line=max(span.end_line - 1, 0), character=max(span.end_col - 1, 0)),
        )
    )
    return types.Location(uri=uri, range=rng)


def _file_start(uri: str) -> types.Location:
    zero = types.Position(line=0, character=0)
    return types.Location(uri=uri, range=types.Range(start=zero, end=zero))


def definition(doc: Document, pos: types.Position, encoding: str) -> list[types.Location] | None:
    got = _meaning_at(doc, pos, encoding)
    if got is None:
        return None
    m, view, occ = got
    texts = lookup.texts(view.analysis)
    if m.kind == "import":
        imp = occ.node
        if not imp.is_path:
            p = std_path(imp.target) if imp.target == "std" else None
            return [_file_start(from_fs_path(str(p)))] if p is not None else None
        target = Path(imp.target)
        if not target.is_absolute():
            target = Path(view.analysis.label).absolute().parent / target
        return [_file_start(from_fs_path(str(target)))] if target.is_file() else None
    if m.span is None or m.kind in ("op", "function", "argument", "unknown", "construct"):
        return None
    loc = _location(m.span, doc, view, texts)
    return [loc] if loc is not None else None


def references(
    doc: Document, pos: types.Position, encoding: str, include_declaration: bool, others: list[Document]
) -> list[types.Location] | None:
    """The uses of the block under the cursor (at a use or at its definition)."""
    got = _meaning_at(doc, pos, encoding)
    if got is None:
        return None
    m, view, _ = got
    if m.kind != "block" or m.span is None:
        return None
    target = m.span
    out: list[types.Location] = []
    seen: set[tuple] = set()
    for d in [doc, *[o for o in others if o is not doc]]:
        for analysis in d.analyses()[:1]:
            idx = lookup.index_for(analysis)
            if idx is None:
                continue
            b = idx.blocks.get(m.name)
            if b is None or b.name_span != target:
                continue
            v = d.view(analysis, encoding)
            texts = lookup.texts(analysis)
            for occ in idx.occurrences:
                if occ.name != m.name or occ.kind not in ("call", "string", "block"):
                    continue
                if occ.kind == "block" and not include_declaration:
                    continue
                if occ.kind == "call" and idx.resolve(occ).kind != "block":
                    continue  # shadowed by a tensor or parameter of that name
                loc = _location(occ.span, d, v, texts)
                if loc is not None and (loc.uri, loc.range.start.line, loc.range.start.character) not in seen:
                    seen.add((loc.uri, loc.range.start.line, loc.range.start.character))
                    out.append(loc)
    if include_declaration:
        decl = _location(target, doc, view, lookup.texts(view.analysis))
        if decl is not None and (decl.uri, decl.range.start.line, decl.range.start.character) not in seen:
            out.insert(0, decl)
    return out
