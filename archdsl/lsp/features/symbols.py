"""Document symbols: the outline of a spec. Nets (with their input and stages), blocks (with their
named tensors), search spaces (with their entries), imports; each with its whole range and the
range of its name."""

from __future__ import annotations

from lsprotocol import types

from archdsl.lsp import lookup
from archdsl.lsp.documents import Document
from archdsl.lsp.index import name_span
from archdsl.lsp.signatures import definition_signature
from archdsl.syntax import ast

K = types.SymbolKind


def _sym(view, name, detail, kind, span, sel, children=None):
    rng, srng = view.range(span), view.range(sel)
    if rng is None or srng is None:
        return None
    return types.DocumentSymbol(
        name=name, detail=detail, kind=kind, range=rng, selection_range=srng, children=children or None
    )


def _statements(view, body) -> list[types.DocumentSymbol]:
    out = []
    for s in body:
        sym = None
        if isinstance(s, ast.Assign):
            sym = _sym(view, s.name, "stage", K.Variable, s.span, s.name_span)
        elif isinstance(s, ast.InputStmt):
            sym = _sym(view, s.name, "input", K.Field, s.span, name_span(s.span, "input"))
        if sym is not None:
            out.append(sym)
    return out


def document_symbols(doc: Document, encoding: str) -> list[types.DocumentSymbol]:
    analyses = doc.analyses()
    if not analyses:
        return []
    analysis = analyses[0]
    mod = analysis.module
    if mod is None:
        return []
    view = doc.view(analysis, encoding)
    texts = lookup.texts(analysis)
    items: list[tuple[tuple[int, int], types.DocumentSymbol]] = []
    for imp in mod.imports:
        sym = _sym(view, imp.target, "import", K.Module, imp.span, imp.span)
        if sym:
            items.append(((imp.span.line, imp.span.col), sym))
    for b in mod.blocks:
        kids = [
            k
            for k in (
                _sym(view, s.name, "tensor", K.Variable, s.span, s.name_span)
                for s in b.body
                if isinstance(s, ast.Assign)
            )
            if k
        ]
        sym = _sym(view, b.name, definition_signature(b, texts), K.Function, b.span, b.name_span, kids)
        if sym:
            items.append(((b.span.line, b.span.col), sym))
    for n in mod.nets:
        sym = _sym(
            view, n.name, definition_signature(n, texts), K.Class, n.span, n.name_span, _statements(view, n.body)
        )
        if sym:
            items.append(((n.span.line, n.span.col), sym))
    for sp in mod.spaces:
        kids = [k for k in (_sym(view, e.name, "domain", K.Field, e.span, e.name_span) for e in sp.entries) if k]
        sym = _sym(view, sp.name, f"space over {sp.extends.name}", K.Struct, sp.span, sp.name_span, kids)
        if sym:
            items.append(((sp.span.line, sp.span.col), sym))
    items.sort(key=lambda t: t[0])
    return [s for _, s in items]
