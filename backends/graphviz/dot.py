"""A :class:`~.figure.Figure` as Graphviz DOT (through the ``graphviz`` package), and DOT to images.

Styling lives here and only here: each box role maps to a shape (so a greyscale print still tells
condense from expand, a merge from an op, a downsampling step from a plain one) and the theme
fills it. The DOT text depends on nothing but the figure and the theme (no dates, no versions,
no absolute paths), so it is byte-identical from run to run.
"""

from __future__ import annotations

from html import escape

from . import labels as L
from .errors import DotFailed, DotNotFound, MissingPackage
from .figure import Box, Cluster, Figure
from .options import BLOCKS, OPS, STAGES
from .themes import THEMES, Theme

LEVEL_NAMES = {STAGES: "stages", BLOCKS: "blocks", OPS: "ops"}


def _html(title: str, lines: list[str], theme: Theme, bold: bool = True) -> str:
    head = f"<B>{escape(title)}</B>" if bold else escape(title)
    rest = "".join(f'<BR/><FONT POINT-SIZE="9" COLOR="{theme.muted}">{escape(ln)}</FONT>' for ln in lines)
    return f"<{head}{rest}>"


def _box_attrs(b: Box, theme: Theme, rankdir: str) -> dict[str, str]:
    lr = rankdir == "LR"
    a: dict[str, str] = {}
    role = b.role
    if role == "merge":
        a["label"] = b.symbol or b.title
        a.update(shape="circle", fixedsize="true", width="0.3", fontsize="13", fillcolor=theme.merge)
    else:
        a["label"] = _html(b.title, b.lines, theme, bold=role not in ("op", "input", "output", "external"))
    if role in ("block", "stage"):
        a["style"] = "rounded,filled"
    elif role == "repeat":
        a.update(style="rounded,filled", peripheries="2")
    elif role == "downsample":
        a.update(shape="invhouse", fillcolor=theme.downsample)
        if lr:
            a.update(orientation="90", **_fixed(b, 0.45))
    elif role in ("condense", "expand"):
        # a four-sided polygon narrowing (condense) or widening (expand) along the data flow
        a.update(shape="polygon", sides="4", distortion="0.3" if role == "condense" else "-0.3")
        if lr:
            a.update(orientation="90", **_fixed(b, 0.35))
        a["fillcolor"] = theme.condense if role == "condense" else theme.expand
    elif role == "embed":
        a.update(fillcolor=theme.embed)
    elif role in ("input", "output"):
        a.update(shape="oval", fillcolor=theme.io)
    elif role == "external":
        a.update(shape="oval", style="dashed", fontcolor=theme.muted)
    if b.emphasis:
        a["penwidth"] = "2"
    if b.tooltip:
        a["tooltip"] = b.tooltip
    return a


def _fixed(b: Box, pad: float) -> dict[str, str]:
    """An explicit size for a rotated polygon, which Graphviz would otherwise make far too wide.

    The width estimates the text (Helvetica: about 6.2 pt per bold 10 pt character, 5.1 pt per
    9 pt one) plus room for the slanted sides. ``fixedsize=true`` rather than ``shape``: Graphviz
    2.43 clips edges wrongly at rotated ``shape``-sized polygons.
    """
    text = max([len(b.title) * 6.2, *(len(ln) * 5.1 for ln in b.lines)])
    width = text / 72 + pad
    height = 0.55 if b.lines else 0.38
    return {"fixedsize": "true", "width": f"{width:.2f}", "height": f"{height:.2f}"}


CLUSTER_STYLE = {
    "stage": ("rounded,filled", "stage", "stage_line", "1.5"),
    "columns": ("dashed,filled", "group", "group_line", "1"),
    "column": ("rounded,filled", "column", "group_line", "1"),
    "attention": ("rounded,filled", "attention", "line", "1.2"),
    "block": ("rounded,dashed,filled", "group", "group_line", "1"),
    "repeat": ("bold,filled", "group", "group_line", "1.5"),
}


def _cluster_attrs(c: Cluster, theme: Theme) -> dict[str, str]:
    style, fill, line, pen = CLUSTER_STYLE.get(c.role, ("dashed,filled", "group", "group_line", "1"))
    label = _html(c.title, [c.subtitle] if c.subtitle else [], theme) if c.title else "<>"
    a = {"label": label, "style": style, "fillcolor": getattr(theme, fill), "color": getattr(theme, line)}
    if pen != "1":
        a["penwidth"] = pen
    if c.tooltip:
        a["tooltip"] = c.tooltip
    return a


def _graphviz():
    """The ``graphviz`` package, imported only when a figure is written (``archdsl check`` stays light)."""
    try:
        import graphviz
    except ImportError:
        raise MissingPackage() from None
    return graphviz


def to_digraph(fig: Figure):
    """The figure as a ``graphviz.Digraph``."""
    graphviz = _graphviz()

    opts = fig.options
    theme = THEMES[opts.theme]
    comment = (
        f"archdsl render: net {fig.name}, depth {opts.depth} ({LEVEL_NAMES[opts.depth]}), "
        f"{'expanded' if opts.expand else 'rolled up'}, theme {theme.name}"
        + (f", focus {opts.focus}" if opts.focus else "")
    )
    totals = f"{L.count(fig.params)} params · {L.count(fig.macs)} MACs"
    title = fig.name + (f" · {opts.focus}" if opts.focus else "") + f" · {totals}"
    g = graphviz.Digraph(
        name=fig.name,
        comment=comment,
        graph_attr={
            "rankdir": opts.rankdir,
            "bgcolor": theme.background,
            "fontname": theme.font,
            "fontsize": "11",
            "fontcolor": theme.text,
            "label": _html(title, [], theme),
            "labelloc": "t",
            "labeljust": "l",
            "nodesep": "0.18",
            "ranksep": "0.28",
            "newrank": "true",
        },
        node_attr={
            "shape": "box",
            "style": "filled",
            "fontname": theme.font,
            "fontsize": "10",
            "fontcolor": theme.text,
            "color": theme.line,
            "fillcolor": theme.node,
            "margin": "0.08,0.04",
            "height": "0.3",
        },
        edge_attr={
            "color": theme.muted,
            "arrowsize": "0.6",
            "fontname": theme.font,
            "fontsize": "8",
            "fontcolor": theme.muted,
        },
    )

    def add(target, items) -> None:
        for it in items:
            if isinstance(it, Box):
                target.node(it.id, **_box_attrs(it, theme, opts.rankdir))
            else:
                with target.subgraph(name="cluster_" + it.id) as sub:
                    sub.attr(**_cluster_attrs(it, theme))
                    add(sub, it.items)

    add(g, fig.items)
    for e in fig.edges:
        if e.label:
            g.edge(e.tail, e.head, label=e.label)
        else:
            g.edge(e.tail, e.head)
    return g


def to_dot(fig: Figure) -> str:
    return to_digraph(fig).source


def pipe(source: str, fmt: str) -> bytes:
    """Run ``dot -T<fmt>`` on DOT text. Raises DotNotFound when Graphviz is not installed."""
    if fmt == "dot":
        return source.encode("utf-8")
    graphviz = _graphviz()

    try:
        return graphviz.Source(source).pipe(format=fmt, engine="dot", quiet=True)
    except graphviz.ExecutableNotFound:
        raise DotNotFound(fmt) from None
    except graphviz.CalledProcessError as exc:
        err = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise DotFailed(
            f"Graphviz 'dot' failed writing {fmt} (exit {exc.returncode})" + (f": {err[-1]}" if err else ""),
            "rerun with --format dot to inspect the DOT text, and report this as a bug in archdsl",
        ) from None
