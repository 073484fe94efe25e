"""The indexes of one analysis, built on first use and kept with it: names, graphs, source texts.

For text that did not parse there is no program, only the definitions that did parse; the
standard library's blocks are then added when the text imports it, so completion, hover and go to
definition still know ``conv_bn_act`` while a line is being typed.
"""

from __future__ import annotations

import functools

from archdsl.diagnostics import normalize_source
from archdsl.lsp.analysis import Analysis
from archdsl.lsp.index import Index, build
from archdsl.lsp.irinfo import GraphInfo
from archdsl.resolve.program import LIBRARIES, STD_PREFIX, library_text
from archdsl.syntax import ast, parse_text


@functools.cache
def std_module(name: str = "std") -> ast.Module:
    label = STD_PREFIX + LIBRARIES[name]
    return parse_text(library_text(name), label)


def texts(analysis: Analysis) -> dict[str, str]:
    """Label → normalised text of every file the analysis knows (the libraries always)."""
    got = analysis.cache.get("texts")
    if got is None:
        got = {STD_PREFIX + v: library_text(k) for k, v in LIBRARIES.items()}
        got[analysis.label] = normalize_source(analysis.text)
        if analysis.program is not None:
            got.update(analysis.program.texts)
        analysis.cache["texts"] = got
    return got


def index_for(analysis: Analysis) -> Index | None:
    if "index" not in analysis.cache:
        mod = analysis.module
        if mod is None:
            analysis.cache["index"] = None
        else:
            if analysis.program is not None:
                blocks, nets = analysis.program.blocks, analysis.program.nets
            else:
                blocks, nets = {}, {}
                for imp in mod.imports:
                    if not imp.is_path and imp.target in LIBRARIES:
                        blocks.update({b.name: b for b in std_module(imp.target).blocks})
                blocks.update({b.name: b for b in mod.blocks})
                nets = {n.name: n for n in mod.nets}
            analysis.cache["index"] = build(mod, blocks, nets, texts(analysis)[analysis.label])
    return analysis.cache["index"]


def infos(analysis: Analysis) -> dict[str, GraphInfo]:
    got = analysis.cache.get("graphs")
    if got is None:
        got = analysis.cache["graphs"] = {name: GraphInfo(g) for name, g in analysis.graphs.items()}
    return got


def graphs_for(analysis: Analysis, owner) -> list[GraphInfo]:
    """The graphs that can hold the IR of text inside ``owner``: its net's, or for a block every net's."""
    all_ = infos(analysis)
    if isinstance(owner, ast.NetDef):
        g = all_.get(owner.name)
        return [g] if g is not None else []
    return list(all_.values())
