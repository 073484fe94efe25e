"""The graphviz backend: the IR drawn as the figure a paper author would draw (DOT, SVG, PNG, PDF).

Pipeline: :mod:`.structure` turns the IR's scopes into a tree, :mod:`.figure` chooses boxes,
clusters and edges for a level of detail (stages, blocks, ops), :mod:`.dot` styles them and
writes DOT through the ``graphviz`` package, and the Graphviz ``dot`` program lays it out
(only for svg/png/pdf: DOT text needs no Graphviz installation).

Python API::

    import archdsl
    from archdsl_backends.graphviz import RenderOptions, render, render_dot

    graph = archdsl.load("specs/attendnext.arch")
    text = render_dot(graph, RenderOptions(depth=2, shapes=True))        # DOT text, deterministic
    svg = render(graph, RenderOptions(theme="mono"), "svg")             # bytes; needs `dot`

Command line: ``archdsl render SPEC -o out.svg`` (see docs/render.md), or through the generic
hook, ``archdsl compile SPEC --backend graphviz -o out.svg -O depth=3 -O theme=dark``.

This backend reads only the IR (``archdsl.ir``, ``archdsl.ops``, ``archdsl.diagnostics``, ``archdsl.fileio``,
``archdsl.backend``); it draws every op, so :meth:`GraphvizBackend.unsupported` is always empty.
It declares the ``render`` capability (``render_formats``, :meth:`GraphvizBackend.render`), through
which ``archdsl render`` draws, and its options model (:class:`GraphvizOptions`).
"""

from __future__ import annotations

from pathlib import Path

from archdsl import backend as hook
from archdsl.backend import CompileRequest, CompileResult
from archdsl.fileio import atomic_write, check_output
from archdsl.ir import Graph

from .dot import pipe, to_dot
from .errors import DotFailed, DotNotFound, MissingPackage, OptionError, RenderError
from .figure import Figure, build_figure
from .options import (
    BLOCKS,
    DEFAULT_FORMAT,
    EXTENSIONS,
    FORMATS,
    OPS,
    RENDER_FORMATS,
    STAGES,
    STDOUT_FORMAT,
    GraphvizOptions,
    RenderOptions,
    format_for,
    parse_depth,
)
from .themes import THEMES, Theme

__all__ = [
    "BACKEND",
    "BLOCKS",
    "FORMATS",
    "OPS",
    "STAGES",
    "THEMES",
    "DotFailed",
    "DotNotFound",
    "Figure",
    "GraphvizBackend",
    "GraphvizOptions",
    "MissingPackage",
    "OptionError",
    "RenderError",
    "RenderOptions",
    "Theme",
    "figure",
    "format_for",
    "parse_depth",
    "render",
    "render_dot",
    "write",
]


def figure(graph: Graph, options: RenderOptions | None = None) -> Figure:
    """The boxes, clusters and edges that would be drawn (for tests and other renderers)."""
    return build_figure(graph, options or RenderOptions())


def render_dot(graph: Graph, options: RenderOptions | None = None) -> str:
    """DOT text for ``graph``: byte-identical for the same graph and options."""
    return to_dot(figure(graph, options))


def render(graph: Graph, options: RenderOptions | None = None, fmt: str = "svg") -> bytes:
    """The figure in ``fmt`` (dot, svg, png, pdf). Raises DotNotFound when ``dot`` is missing."""
    if fmt not in FORMATS:
        raise OptionError(f"unknown format '{fmt}'", "choose one of: " + ", ".join(FORMATS), code="B006")
    return pipe(render_dot(graph, options), fmt)


def write(graph: Graph, path: Path, options: RenderOptions | None = None, fmt: str | None = None) -> Path:
    """Render to a file, atomically (:func:`archdsl.fileio.atomic_write`: an interrupted write
    leaves the old file, and an input of this run is never replaced); the format comes from
    ``fmt`` or the file's extension."""
    path = Path(path)
    check_output(path)  # refuse before running `dot`
    data = render(graph, options, format_for(path, fmt))
    return atomic_write(path, data)


class GraphvizBackend:
    """The object published under the entry point ``graphviz`` of ``archdsl.backends``."""

    name = "graphviz"
    summary = "Figure-style drawings of the net: DOT, SVG, PNG, PDF (Graphviz)"
    options_model = GraphvizOptions
    emits = FORMATS  # --emit names formats
    capabilities = frozenset({hook.RENDER})
    render_formats = RENDER_FORMATS
    default_format = DEFAULT_FORMAT
    stdout_format = STDOUT_FORMAT

    def unsupported(self, graph: Graph, options: GraphvizOptions | None = None) -> list:
        return []  # every op can be drawn

    def render(self, graph: Graph, options: RenderOptions | dict | None = None, fmt: str = DEFAULT_FORMAT) -> bytes:
        """The figure in ``fmt`` (the ``render`` capability): what ``archdsl render`` calls."""
        if not isinstance(options, RenderOptions):
            options = hook.parse_options(self, options)
        if isinstance(options, GraphvizOptions):
            options = options.drawing()
        return render(graph, options, fmt)

    def render_dot(self, graph: Graph, options: RenderOptions | None = None) -> str:
        return render_dot(graph, options)

    def output_paths(self, graph: Graph, request: CompileRequest) -> list[Path]:
        """The files :meth:`compile` would write (the command line checks them before any work)."""
        return [target for target, _ in self._targets(graph, request)]

    def compile(self, graph: Graph, request: CompileRequest) -> CompileResult:
        """Write the figure. ``request.options``: depth, expand, focus, shapes, theme, rankdir,
        format; ``request.emit``: formats to write (default: from the output's extension, or svg).
        """
        options = hook.parse_options(self, request.options).drawing()
        result = CompileResult()
        for target, chosen in self._targets(graph, request):
            result.artefacts.append(write(graph, target, options, chosen))
        return result

    def _targets(self, graph: Graph, request: CompileRequest) -> list[tuple[Path, str]]:
        fmt = hook.parse_options(self, request.options).format
        out = request.output
        formats = list(dict.fromkeys(request.emit)) or [None]
        targets = []
        for f in formats:
            if out is None or out.is_dir() or not out.suffix:  # a directory: <dir>/<net>.<format>
                chosen = format_for(None, f or fmt)
                base = out if out is not None else Path("build") / graph.name
                target = base / f"{graph.name}.{chosen}"
            else:
                chosen = format_for(out, f or fmt)
                own = EXTENSIONS.get(out.suffix.lower())
                target = out if own == chosen else out.with_suffix("." + chosen)
            targets.append((target, chosen))
        return targets


BACKEND = GraphvizBackend()
