"""Completion: ops, blocks, keyword arguments (with types and defaults), named tensors in scope.

What is offered depends on where the cursor is (:mod:`archdsl.lsp.features.context`):

* where a pipeline element goes (a statement, after ``->``, after ``name =``): the primitive ops
  of the registry, the blocks the file knows (its own, imported ones, the standard library's
  when imported), ``columns`` and ``residual``, and at the head of a pipeline the named tensors
  bound so far (``in`` in a block); at the start of a net's statement also ``input`` and ``meta``;
* inside ``name(``: the keyword arguments of the op, block, function, ``columns`` or parent net
  not given yet (``k = `` with its type, default and meaning), and values: the parameters in
  scope, the functions, the named tensors (for merges like ``add(a, b)``);
* after ``k =``: values, and for an argument with a fixed set of strings (``upsample(mode = ``,
  ``columns(join = ``) those strings;
* at the top level: ``import``, ``block``, ``net``; after ``import``: ``std``; in a ``noqa``
  comment: the rule codes.
"""

from __future__ import annotations

import typing

from lsprotocol import types

from archdsl.lsp import lookup
from archdsl.lsp.documents import Document
from archdsl.lsp.features.context import Context, scan
from archdsl.lsp.features.hover import block_doc, op_doc
from archdsl.lsp.signatures import (
    definition_signature,
    function_signature,
    op_arguments,
    op_signature,
    param_arguments,
)
from archdsl.ops import OPS
from archdsl.resolve.constructs import JOINS
from archdsl.resolve.functions import FUNCTIONS as BUILTINS
from archdsl.resolve.values import show
from archdsl.syntax import ast

K = types.CompletionItemKind
COLUMNS_OPTIONS = {
    "n": ("int ≥ 1", None, "the number of columns (a single pipeline in the body is replicated)"),
    "split": ("bool", "false", "split the input's channels equally between the columns"),
    "join": (" | ".join(show(j) for j in JOINS), '"concat"', "how the columns' outputs are merged"),
    "out": ("int ≥ 1", None, 'output channels of the 1x1 projection (join = "project")'),
}
OPERATORS = ("->", "*", "+", "-", "/", "//", "%", "==", "!=", "<", ">", "<=", ">=", "and", "or", "not", "if", "else")


def _md(lines: list[str]) -> types.MarkupContent:
    return types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n".join(x for x in lines if x))


def completion(doc: Document, pos: types.Position, encoding: str) -> types.CompletionList:
    from archdsl.diagnostics import normalize_source

    lines = doc.lines(encoding)
    raw_offset = lines.offset(pos)
    text = normalize_source(doc.text[:raw_offset])
    ctx = scan(text, len(text))
    analysis = doc.analyses()[0] if doc.analyses() else None
    idx = lookup.index_for(analysis) if analysis is not None else None
    items = _items(ctx, idx, analysis)
    return types.CompletionList(is_incomplete=False, items=items)


def _items(ctx: Context, idx, analysis) -> list[types.CompletionItem]:
    if ctx.in_string:
        return _strings(ctx, idx)
    if ctx.in_comment is not None:
        return _rule_codes() if "noqa" in ctx.in_comment else []
    top = ctx.top
    if top is None:
        return _top_level(ctx, idx)
    if top.char == "(":
        if top.header:
            return []
        if ctx.prev == "=" and top.keyword is not None:
            return _literal_values(ctx, idx, top.callee, top.keyword) + _values(ctx, idx)
        if ctx.prev in ("(", ","):
            known = top.callee in BUILTINS or top.callee == "columns" or (idx is not None and top.callee in idx.blocks)
            merge = OPS[top.callee].variadic if top.callee in OPS else not known
            return _keywords(ctx, idx, analysis, top) + _values(ctx, idx, tensors=merge)
        return _values(ctx, idx)
    if top.char == "[":
        return _values(ctx, idx)
    if top.callee == "meta":
        return []
    # a body: a statement, a pipeline element, or an expression after '*' or 'if'
    if ctx.prev in ("*", "if", "else", "and", "or", "not", "+", "-", "/", "//", "%", "==", "!=", "<", ">", "<=", ">="):
        return _values(ctx, idx)
    head = ctx.prev in ("=", "{", ":") or (ctx.prev_line < ctx.line and ctx.prev not in OPERATORS)
    out = _elements(idx, analysis)
    if head:
        out += _tensors(ctx, idx)
        if top.callee == "body" and ctx.definition == "net" and len(ctx.stack) == 1 and ctx.prev != "=":
            out += [_kw("input", "input NAME [C, H, W]"), _kw("meta", "meta { key = value }")]
    return out


def _kw(word: str, detail: str) -> types.CompletionItem:
    return types.CompletionItem(label=word, kind=K.Keyword, detail=detail)


def _top_level(ctx: Context, idx) -> list[types.CompletionItem]:
    if ctx.prev == "import":
        return [types.CompletionItem(label="std", kind=K.Module, detail="the standard library")]
    if ctx.prev == "extends" and idx is not None:
        return [types.CompletionItem(label=n, kind=K.Class, detail="net") for n in idx.nets]
    if ctx.definition == "net" and ctx.def_name is not None and ctx.prev in (ctx.def_name, ")"):
        return [_kw("extends", "net NAME extends PARENT(args)")]
    return [
        _kw("import", 'import std · import "file.arch"'),
        _kw("block", "block NAME(params) { ... }"),
        _kw("net", "net NAME(params) { ... }"),
    ]


def _elements(idx, analysis) -> list[types.CompletionItem]:
    out = [
        types.CompletionItem(
            label=name,
            kind=K.Function,
            detail=op_signature(spec),
            documentation=_md(op_doc(spec)),
            sort_text=f"1{name}",
        )
        for name, spec in OPS.items()
    ]
    if idx is not None:
        for name, b in idx.blocks.items():
            out.append(
                types.CompletionItem(
                    label=name,
                    kind=K.Class,
                    detail=definition_signature(b, lookup.texts(analysis)),
                    documentation=_md(block_doc(b, analysis)),
                    sort_text=f"2{name}",
                )
            )
    out += [
        _kw("columns", "columns(n, split, join, out) { pipelines }"),
        _kw("residual", "residual { body } shortcut { ... }"),
    ]
    return out


def _scope(ctx: Context, idx) -> tuple[list[str], list[str]]:
    """(parameters, tensors) in scope where the cursor is."""
    params = list(ctx.params)
    tensors = [*ctx.inputs, *ctx.tensors]
    if ctx.definition == "block":
        tensors.insert(0, "in")
    parent = idx.nets.get(ctx.extends) if idx is not None and ctx.extends else None
    seen: set[int] = set()
    while parent is not None and id(parent) not in seen:
        seen.add(id(parent))
        params += [p.name for p in parent.params]
        tensors += [s.name for s in parent.body if isinstance(s, (ast.Assign, ast.InputStmt))]
        parent = idx.nets.get(parent.extends.name) if parent.extends else None
    return list(dict.fromkeys(params)), list(dict.fromkeys(tensors))


def _tensors(ctx: Context, idx) -> list[types.CompletionItem]:
    _, tensors = _scope(ctx, idx)
    return [types.CompletionItem(label=t, kind=K.Variable, detail="named tensor", sort_text=f"0{t}") for t in tensors]


def _values(ctx: Context, idx, tensors: bool = False) -> list[types.CompletionItem]:
    params, names = _scope(ctx, idx)
    out = [types.CompletionItem(label=p, kind=K.Variable, detail="parameter", sort_text=f"0{p}") for p in params]
    if tensors or ctx.definition == "block":
        out += [types.CompletionItem(label=t, kind=K.Variable, detail="named tensor", sort_text=f"1{t}") for t in names]
    out += [
        types.CompletionItem(
            label=name, kind=K.Function, detail=function_signature(name, fn), documentation=fn.doc, sort_text=f"2{name}"
        )
        for name, fn in BUILTINS.items()
    ]
    out += [types.CompletionItem(label=c, kind=K.Constant, sort_text=f"3{c}") for c in ("true", "false", "none")]
    return out


def _arg_item(name: str, typ: str, default: str | None, doc: str, owner: str) -> types.CompletionItem:
    if default is not None:
        detail = f"{typ} = {default}".strip()
    else:
        detail = f"{typ}, required" if typ else "required"
    return types.CompletionItem(
        label=name,
        kind=K.Field,
        detail=detail,
        documentation=f"{doc} (argument of {owner})".strip() if doc else f"argument of {owner}",
        insert_text=f"{name} = ",
        filter_text=name,
        sort_text=f"0{name}",
    )


def _keywords(ctx: Context, idx, analysis, frame) -> list[types.CompletionItem]:
    """The keyword arguments of the call ``frame`` is open for that it does not give yet."""
    out = []
    callee = frame.callee
    given = set(frame.kwargs)
    if callee is None:
        return out
    if callee in OPS:
        given |= set(OPS[callee].positional[: frame.positional])
        for a in op_arguments(OPS[callee]):
            if a.name not in given:
                out.append(_arg_item(a.name, a.type, a.default, a.doc, f"`{callee}`"))
    elif callee == "columns":
        for k, (typ, default, doc) in COLUMNS_OPTIONS.items():
            if k not in given:
                out.append(_arg_item(k, typ, default, doc, "`columns`"))
    elif callee in BUILTINS:
        fn = BUILTINS[callee]
        params = fn.signature.params
        given |= {p.name for p in params[: frame.positional]}
        for p in params:
            if p.name not in given:
                out.append(_arg_item(p.name, "", None if p.required else show(p.default), fn.doc, f"`{callee}`"))
    elif idx is not None:
        d = idx.blocks.get(callee) or (idx.nets.get(callee) if callee == ctx.extends else None)
        if d is not None:
            given |= {p.name for p in d.params[: frame.positional]}
            for a in param_arguments(d.params, lookup.texts(analysis)):
                if a.name not in given:
                    out.append(_arg_item(a.name, "", a.default, "", f"`{callee}`"))
    return out


def _literal_values(ctx: Context, idx, callee: str | None, key: str) -> list[types.CompletionItem]:
    """The strings an argument accepts when it has a fixed set (``mode``, ``join`` ...)."""
    values: list[str] = []
    if callee in OPS:
        f = OPS[callee].args.model_fields.get(key)
        if f is not None:
            ann = f.annotation
            if typing.get_origin(ann) is typing.Literal:
                values = [show(v) for v in typing.get_args(ann)]
    elif callee == "columns" and key == "join":
        values = [show(j) for j in JOINS]
    elif callee == "columns" and key == "split":
        values = ["true", "false"]
    if key in ("act", "gate") or key.endswith("_act"):
        values += [show(n) for n, spec in OPS.items() if spec.traits.activation]
    return [types.CompletionItem(label=v, kind=K.EnumMember, sort_text=f"0{v}") for v in dict.fromkeys(values)]


def _strings(ctx: Context, idx) -> list[types.CompletionItem]:
    """Inside a string that is an argument's value: the strings it accepts (without the quote)."""
    top = ctx.top
    if top is None or top.char != "(" or ctx.prev is None or top.keyword is None:
        return []
    out = []
    for item in _literal_values(ctx, idx, top.callee, top.keyword):
        bare = item.label.strip('"')
        out.append(types.CompletionItem(label=bare, kind=K.EnumMember, insert_text=bare))
    return out


def _rule_codes() -> list[types.CompletionItem]:
    from archdsl.rules.registry import default_registry

    try:
        reg = default_registry()
    except Exception:  # a broken plugin: no codes to offer, never a failed request
        return []
    return [
        types.CompletionItem(label=r.code, kind=K.Constant, detail=r.name, documentation=r.summary()) for r in reg.rules
    ]
