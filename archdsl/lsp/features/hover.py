"""Hover: what the name under the cursor is, and what it makes.

* a statement (``stage3 = ...``) or a named tensor: its input and output shapes, parameters (and
  their share of the net) and MACs, the row ``archdsl show`` prints for it;
* a call of an op or block: the op's signature from the registry (types, bounds, defaults, what
  each argument means) or the block's signature and documentation comment; then the IR it made,
  per instance and in total when there are several (a repeat ``* 10``, a call inside a block);
* a block's or net's name where it is defined: its signature, documentation, and every instance
  in the file's nets (a net: its totals);
* a parameter: its default, and the values it took (a net's, or a block's in each instance);
* a keyword argument: that argument's type, default and meaning; a function: its signature.

The IR comes from the analysis of the current text when its nets resolve, otherwise from the last
one whose nets did (lined up through the unchanged lines, see :class:`~archdsl.lsp.documents.View`).
"""

from __future__ import annotations

from lsprotocol import types

from archdsl.lsp import lookup
from archdsl.lsp.analysis import Analysis
from archdsl.lsp.documents import Document
from archdsl.lsp.index import Index, Meaning, Occurrence
from archdsl.lsp.irinfo import GraphInfo, describe, describe_all, human
from archdsl.lsp.signatures import definition_signature, function_signature, op_arguments, op_signature
from archdsl.ops import OPS
from archdsl.resolve.program import STD_PREFIX
from archdsl.resolve.values import show
from archdsl.syntax import ast


def hover(doc: Document, pos: types.Position, encoding: str) -> types.Hover | None:
    fallback = None
    for analysis in doc.analyses():
        view = doc.view(analysis, encoding)
        pt = view.point(pos)
        idx = lookup.index_for(analysis) if pt is not None else None
        occ = idx.at(*pt) if idx is not None and pt is not None else None
        if occ is None:
            continue
        md, with_ir = render(occ, idx, analysis)
        if md is None:
            continue
        result = types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=md), range=view.range(occ.span)
        )
        if with_ir or not wants_ir(occ, idx):
            return result
        fallback = fallback or result
    return fallback


def wants_ir(occ: Occurrence, idx: Index) -> bool:
    return occ.kind in ("tensor", "call", "block", "net", "construct", "input", "param", "name")


def _where(span) -> str:
    if span is None:
        return ""
    f = span.file
    if f.startswith(STD_PREFIX):
        return f"defined in the standard library ({f[len(STD_PREFIX) :]}:{span.line})"
    return f"defined at {f}:{span.line}"


def render(occ: Occurrence, idx: Index, analysis: Analysis) -> tuple[str | None, bool]:
    """The hover's markdown, and whether it has IR numbers in it."""
    m = idx.resolve(occ)
    graphs = lookup.graphs_for(analysis, occ.owner)
    head: list[str] = []
    ir: list[str] = []
    if m.kind == "op":
        head = op_doc(OPS[m.name])
        if occ.kind == "call":
            ir = _instances(graphs, lambda gi: gi.of_call(occ.node.span, m.name), _net(occ))
    elif m.kind == "block":
        head = block_doc(m.definition, analysis)
        if occ.kind == "call":
            ir = _instances(graphs, lambda gi: gi.of_call(occ.node.span, m.name), _net(occ))
        elif occ.kind == "block":
            ir = _instances(lookup.graphs_for(analysis, None), lambda gi: gi.of_block(m.name), None)
    elif m.kind == "tensor":
        ir = _tensor(m, occ, graphs)
        what = "stage" if isinstance(m.owner, ast.NetDef) else "named tensor"
        head = [f"**{m.name}** · {what}" + (f" of {_kind(m.owner)}" if m.owner is not None else "")]
    elif m.kind == "input":
        head = [f"**{m.name}** · the input of net `{m.owner.name}`"]
        ir = [f"`{gi.graph.inputs[0].type}`" for gi in graphs[:1] if gi.graph.inputs]
    elif m.kind == "block-input":
        head = [f"**in** · the input of block `{m.owner.name}`"]
        shapes = list(dict.fromkeys(str(t) for gi in graphs for t in gi.block_inputs(m.owner.name)))
        if shapes:
            ir = ["input " + ", ".join(f"`{s}`" for s in shapes[:6]) + (" …" if len(shapes) > 6 else "")]
    elif m.kind == "param":
        head, ir = _param(m, occ, analysis, graphs)
    elif m.kind == "argument":
        head = _argument(m)
    elif m.kind == "net":
        head, ir = _net_doc(m, analysis)
    elif m.kind == "function" and m.definition is not None:
        head = [f"```arch\n{function_signature(m.name, m.definition)}\n```", m.definition.doc]
    elif m.kind == "construct":
        head = [f"**{m.name}**"]
        ir = _instances(graphs, lambda gi: gi.of_scope_kind(occ.node.span, m.name), _net(occ))
    elif m.kind == "import":
        imp = occ.node
        head = [f"**import {'“' + imp.target + '”' if imp.is_path else imp.target}**"]
        if not imp.is_path:
            n = len(lookup.std_module(imp.target).blocks) if imp.target == "std" else 0
            head.append(f"the standard library: {n} blocks")
    if not head and not ir:
        return None, False
    parts = [*head, *(["---", *ir] if ir else [])]
    return "\n\n".join(p for p in parts if p), bool(ir)


def _kind(owner) -> str:
    return f"{'block' if isinstance(owner, ast.BlockDef) else 'net'} `{owner.name}`"


def _net(occ: Occurrence) -> str | None:
    return occ.owner.name if isinstance(occ.owner, ast.NetDef) else None


def _instances(graphs: list[GraphInfo], find, net: str | None) -> list[str]:
    """The IR lines of the first graph that has instances (naming the net unless it is the cursor's)."""
    for gi in graphs:
        parts = find(gi)
        if parts:
            lines = describe_all(parts, gi.graph)
            if net is None and len(graphs) > 1:
                lines.insert(0, f"in net `{gi.graph.name}`")
            return lines
    return []


def _tensor(m: Meaning, occ: Occurrence, graphs: list[GraphInfo]) -> list[str]:
    if isinstance(m.owner, ast.BlockDef):
        return _instances(graphs, lambda gi: gi.of_block_tensor(m.owner.name, m.name), None)
    for gi in graphs:
        part = gi.part(m.name, "stage")
        if part is not None:
            return [f"output {describe(part, gi.graph)}", f"MACs {part.macs:,} · IR `{part.path}`"]
    return []


def _param(m: Meaning, occ: Occurrence, analysis: Analysis, graphs: list[GraphInfo]):
    p: ast.Param = m.definition
    owner = m.owner
    default = None
    if p.default is not None:
        from archdsl.lsp.signatures import source_of

        default = source_of(lookup.texts(analysis), p.default.span)
    head = [f"**{p.name}** · parameter of {_kind(owner)}" if owner is not None else f"**{p.name}**"]
    head.append(f"default `{default}`" if default is not None else "required")
    ir: list[str] = []
    if isinstance(owner, ast.NetDef):
        for gi in graphs or lookup.graphs_for(analysis, owner):
            if p.name in gi.graph.params:
                ir = [f"value `{show(gi.graph.params[p.name])}` in net `{gi.graph.name}`"]
                break
    elif isinstance(owner, ast.BlockDef):
        values: dict[str, int] = {}
        for gi in lookup.graphs_for(analysis, None):
            for v in gi.block_args(owner.name, p.name):
                values[show(v)] = values.get(show(v), 0) + 1
        if values:
            shown = [f"`{v}` ({n}×)" for v, n in list(values.items())[:8]]
            ir = ["values: " + ", ".join(shown) + (" …" if len(values) > 8 else "")]
    return head, ir


def _argument(m: Meaning) -> list[str]:
    callee: Meaning = m.definition
    if callee.kind == "op":
        for a in op_arguments(OPS[callee.name]):
            if a.name == m.name:
                default = f" = `{a.default}`" if a.default is not None else " (required)"
                return [f"**{a.name}**: {a.type}{default} · argument of `{callee.name}`", a.doc]
    if callee.kind == "columns":
        return [f"**{m.name}** · option of `columns`: n (count), split, join, out"]
    return [f"**{m.name}**"]


def op_doc(spec) -> list[str]:
    args = op_arguments(spec)
    lines = [f"```arch\n{op_signature(spec)}\n```", f"primitive op · {spec.doc}" if spec.doc else "primitive op"]
    if args:
        lines.append(
            "\n".join(
                f"- `{a.name}`: {a.type}"
                + (f" = `{a.default}`" if a.default is not None else ", required")
                + (f" · {a.doc}" if a.doc else "")
                for a in args
            )
        )
    return lines


def block_doc(b: ast.BlockDef, analysis: Analysis) -> list[str]:
    return [
        f"```arch\n{definition_signature(b, lookup.texts(analysis))}\n```",
        b.doc or "",
        f"*{_where(b.name_span)}*",
    ]


def _net_doc(m: Meaning, analysis: Analysis):
    n: ast.NetDef | None = m.definition
    if n is None:
        return [f"**net {m.name}**"], []
    head = [f"```arch\n{definition_signature(n, lookup.texts(analysis))}\n```", n.doc or ""]
    gi = lookup.infos(analysis).get(n.name)
    if gi is None:
        return head, []
    g = gi.graph
    ir = [
        f"output `{g.output_type}` · {g.total_params:,} parameters ({human(g.total_params)}) · "
        f"{g.total_macs:,} MACs ({human(g.total_macs)}) · {len(g.nodes)} ops",
        "stages: " + ", ".join(f"`{s}`" for s in g.stages),
    ]
    return head, ir
