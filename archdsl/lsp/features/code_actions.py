"""Code actions: suppress a lint finding, and the fixes that are mechanical.

The lint rules carry no fix data (a :class:`~archdsl.rules.base.Finding` is a message, a span and
a help line), so the fixes are made here, only where the help line's change is unambiguous:

* any lint finding: ``# archdsl: noqa CODE`` on its line (added to a directive already there),
  or ``# archdsl: noqa-file CODE`` at the top of the file;
* AQ001 (unused-noqa): remove the codes that suppress nothing, or the whole comment;
* AR208 (bias-before-batch-norm), written in this file: drop the ``bias = true`` argument;
* AS301 (unused-block): delete the block and its documentation comment;
* E201, E202, E302 (unknown op or block, name, argument) with a did-you-mean: each suggestion;
* E201 for a standard-library block without ``import std``: add the import.
"""

from __future__ import annotations

import re

from lsprotocol import types

from archdsl.diagnostics import Span
from archdsl.lsp import lookup
from archdsl.lsp.documents import Document, View
from archdsl.lsp.incremental import _ITEM_START
from archdsl.syntax import ast

_NOQA = re.compile(r"#\s*archdsl\s*:\s*noqa\b:?(?P<codes>(?:[\s,]+[A-Z]{2}[0-9]{0,3})*)", re.I)
_SUGGESTION = re.compile(r"'([^']+)'")


def _edit(doc: Document, title: str, edits: list[types.TextEdit], diag, preferred=False) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[diag] if diag is not None else None,
        edit=types.WorkspaceEdit(changes={doc.uri: edits}),
        is_preferred=preferred or None,
    )


def _pos(line: int, ch: int) -> types.Position:
    return types.Position(line=line, character=ch)


def code_actions(doc: Document, params: types.CodeActionParams, encoding: str) -> list[types.CodeAction]:
    lines = doc.lines(encoding)
    out: list[types.CodeAction] = []
    for diag in params.context.diagnostics:
        if diag.source != "archdsl":
            continue
        data = diag.data if isinstance(diag.data, dict) else {}
        code = str(diag.code or data.get("code") or "")
        rule = data.get("rule")
        help_ = data.get("help") or ""
        if code.startswith("E"):
            out += _compiler_fixes(doc, diag, code, help_, lines)
            continue
        if code == "AQ001":
            out += _unused_noqa(doc, diag, lines)
            continue
        if rule is None and not re.fullmatch(r"[A-Z]{2}[0-9]{3}", code):
            continue
        out += _rule_fixes(doc, diag, code, encoding)
        out += _suppress(doc, diag, code, lines)
    return out


# ---- suppression --------------------------------------------------------------------------


def _suppress(doc: Document, diag, code: str, lines) -> list[types.CodeAction]:
    n = diag.range.start.line
    text = lines.line(n)
    m = _NOQA.search(text)
    if m is not None and not m.group("codes").strip():
        return []  # a blanket noqa already covers the line
    if m is not None:
        if code in re.split(r"[\s,]+", m.group("codes").strip()):
            return []
        at = lines.position(lines.starts[n] + m.end("codes")).character
        edit = types.TextEdit(range=types.Range(start=_pos(n, at), end=_pos(n, at)), new_text=f", {code}")
    else:
        end = len(text.rstrip())
        at = lines.position(lines.starts[n] + end).character
        full = lines.position(lines.starts[n] + len(text)).character
        rng = types.Range(start=_pos(n, at), end=_pos(n, full))
        edit = types.TextEdit(range=rng, new_text=f"  # archdsl: noqa {code}")
    out = [_edit(doc, f"Suppress {code} on this line (# archdsl: noqa {code})", [edit], diag)]
    top = types.TextEdit(range=types.Range(start=_pos(0, 0), end=_pos(0, 0)), new_text=f"# archdsl: noqa-file {code}\n")
    out.append(_edit(doc, f"Suppress {code} in this file (# archdsl: noqa-file {code})", [top], diag))
    return out


def _unused_noqa(doc: Document, diag, lines) -> list[types.CodeAction]:
    n = diag.range.start.line
    text = lines.line(n)
    m = _NOQA.search(text)
    if m is None:
        return []
    stale: set[str] = set()
    for part in re.findall(r"(?:unused|unknown): ([A-Z0-9, ]+)", diag.message):
        stale |= {c.strip() for c in part.split(",") if c.strip()}
    codes = [c for c in re.split(r"[\s,]+", m.group("codes").strip()) if c]
    keep = [c for c in codes if c not in stale]
    if keep and stale:
        a = lines.position(lines.starts[n] + m.start("codes")).character
        b = lines.position(lines.starts[n] + m.end("codes")).character
        new = " " + ", ".join(keep)
        edit = types.TextEdit(range=types.Range(start=_pos(n, a), end=_pos(n, b)), new_text=new)
        return [_edit(doc, "Remove the codes that suppress nothing", [edit], diag, preferred=True)]
    before = text[: m.start()]
    start = len(before.rstrip()) if before.strip() else 0
    tail = text[m.end() :].strip()
    if tail:  # free commentary after the codes: keep it as a plain comment
        a = lines.position(lines.starts[n] + m.start()).character
        b = lines.position(lines.starts[n] + m.end()).character
        edit = types.TextEdit(range=types.Range(start=_pos(n, a), end=_pos(n, b)), new_text="#")
    else:
        a = lines.position(lines.starts[n] + start).character
        b = lines.position(lines.starts[n] + len(text)).character
        if start == 0:  # the comment is the whole line: delete the line
            edit = types.TextEdit(range=types.Range(start=_pos(n, 0), end=_pos(n + 1, 0)), new_text="")
        else:
            edit = types.TextEdit(range=types.Range(start=_pos(n, a), end=_pos(n, b)), new_text="")
    return [_edit(doc, "Remove the unused noqa comment", [edit], diag, preferred=True)]


# ---- rule fixes ---------------------------------------------------------------------------


def _at(doc: Document, diag, encoding: str):
    """The latest analysis's view and index, and the occurrence at the diagnostic's start."""
    analyses = doc.analyses()
    if not analyses:
        return None
    view = doc.view(analyses[0], encoding)
    idx = lookup.index_for(analyses[0])
    pt = view.point(diag.range.start)
    if idx is None or pt is None:
        return None
    return view, idx, pt


def _rule_fixes(doc: Document, diag, code: str, encoding: str) -> list[types.CodeAction]:
    got = _at(doc, diag, encoding)
    if got is None:
        return []
    view, idx, (line, col) = got
    if code == "AR208":
        occ = idx.at(line, col)
        call = occ.node if occ is not None and occ.kind == "call" else None
        if isinstance(call, ast.Call) and call.name == "conv" and call.args:
            return _drop_bias(doc, view, call, diag)
    if code == "AS301":
        for b in idx.module.blocks:
            if b.name_span.line == line and b.name_span.col <= col <= b.name_span.end_col:
                return _delete_block(doc, view, b, diag)
    return []


def _drop_bias(doc: Document, view: View, call: ast.Call, diag) -> list[types.CodeAction]:
    args = list(call.args or ())
    i = next(
        (
            k
            for k, a in enumerate(args)
            if a.name == "bias" and isinstance(a.value, ast.Const) and a.value.value is True
        ),
        None,
    )
    if i is None:
        return []
    a = args[i]
    if i > 0:
        p = args[i - 1].span
        span = Span(a.span.file, p.end_line, p.end_col, a.span.end_line, a.span.end_col)
    elif len(args) > 1:
        n = args[1].span
        span = Span(a.span.file, a.span.line, a.span.col, n.line, n.col)
    else:
        span = a.span
    rng = view.range(span)
    if rng is None:
        return []
    return [
        _edit(doc, "Drop bias = true (the batch norm cancels it)", [types.TextEdit(range=rng, new_text="")], diag, True)
    ]


def _delete_block(doc: Document, view: View, b: ast.BlockDef, diag) -> list[types.CodeAction]:
    first = b.span.line
    while first > 1 and _line(view, first - 1).strip().startswith("#"):
        first -= 1
    last = b.span.end_line + (1 if not _line(view, b.span.end_line + 1).strip() else 0)
    a, z = view.to_new(first), view.to_new(last)
    if a is None or z is None:
        return []
    rng = types.Range(start=_pos(a - 1, 0), end=_pos(z, 0))
    return [_edit(doc, f"Delete the unused block '{b.name}'", [types.TextEdit(range=rng, new_text="")], diag)]


def _line(view: View, n: int) -> str:
    new = view.to_new(n)
    return view.new_lines[new - 1] if new is not None and 1 <= new <= len(view.new_lines) else ""


# ---- compiler errors ----------------------------------------------------------------------


def _compiler_fixes(doc: Document, diag, code: str, help_: str, lines) -> list[types.CodeAction]:
    if code == "E201" and "add 'import std'" in help_:
        n = next((i for i in range(lines.line_count) if _ITEM_START.match(lines.line(i))), 0)
        blank = "\n" if not lines.line(n).lstrip().startswith("import") else ""
        edit = types.TextEdit(range=types.Range(start=_pos(n, 0), end=_pos(n, 0)), new_text=f"import std\n{blank}")
        return [_edit(doc, "Add 'import std'", [edit], diag, preferred=True)]
    if code not in ("E201", "E202", "E302") or not help_.startswith("did you mean"):
        return []
    names = _SUGGESTION.findall(help_)
    rng = diag.range
    if code == "E302":
        m = re.search(r"no argument '([A-Za-z_][A-Za-z0-9_]*)'", diag.message)
        if m is None:
            return []
        rng = types.Range(start=rng.start, end=_pos(rng.start.line, rng.start.character + len(m.group(1))))
    return [
        _edit(
            doc, f"Replace with '{name}'", [types.TextEdit(range=rng, new_text=name)], diag, preferred=len(names) == 1
        )
        for name in names
    ]
