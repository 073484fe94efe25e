"""``archdsl render``: draw a net as the figure a paper would show (Graphviz: DOT, SVG, PNG, PDF).

The drawing itself is the graphviz backend (``archdsl_backends.graphviz``), reached only through
the hook's protocol (:mod:`archdsl.backend`): its ``render`` capability, ``render_formats`` and
options model. This module only maps the flags onto those options and reports errors, exiting
by the codes' kinds. Nothing of Graphviz is imported until the command runs, so ``archdsl check``
stays light.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from archdsl.cli import app
from archdsl.cli.common import EXIT_OK, check_outputs, exit_for, load_or_exit, print_diagnostics, write_or_exit
from archdsl.diagnostics import SourceMap

RENDERER = "graphviz"  # the backend that draws (any backend with the `render` capability would do)

EPILOG = """Examples:

  archdsl render specs/attendnext.arch

  archdsl render specs/attendnext.arch -o fig.png --depth stages

  archdsl render specs/attendnext.arch -o fig.pdf --depth ops --shapes --theme mono

  archdsl render specs/attendnext.arch --focus stage1.dcac -o dcac.svg

  archdsl render specs/attendnext.arch -o - --format dot | less

Levels (--depth): 1 / stages: one box per stage; 2 / blocks (default): a box per block instance,
DC-AC modules by layer; 3 / ops: every primitive op. Identical consecutive repeats are one box
marked ×N unless --expand.

Themes (--theme): paper (default; Figure-1 colours: condense orange, embed yellow, expand blue),
dark, mono (greys). Every theme also tells roles apart by shape and label, so prints in greyscale
read the same. See docs/render.md for the legend.

Exit codes: 0 written; 1 the spec has errors; 2 bad option (unknown theme, format, focus path);
3 the tool failed (Graphviz 'dot' or the graphviz Python package missing). --format dot needs no
Graphviz installation.
"""


@app.command(epilog=EPILOG)
def render(
    spec: Path = typer.Argument(..., help="The spec file.", show_default=False),
    output: str = typer.Option(
        None,
        "--output",
        "-o",
        help="Output file; the extension picks the format (.dot/.gv, .svg, .png, .pdf). '-' writes to stdout. "
        "Default: <net>.svg (or <net>.<format>) in the current directory.",
        show_default=False,
    ),
    fmt: str = typer.Option(None, "--format", "-f", help="dot, svg, png or pdf (overrides the extension)."),
    depth: str = typer.Option(
        None,
        "--depth",
        "-d",
        help="Level of detail: 1|stages, 2|blocks, 3|ops. Default: blocks; ops with --focus.",
        show_default=False,
    ),
    expand: bool = typer.Option(
        None,
        "--expand/--rollup",
        help="Draw every iteration of a repeat, or roll identical ones up as one ×N box. "
        "Default: roll up; expand with --focus.",
        show_default=False,
    ),
    focus: str = typer.Option(
        None, "--focus", help="Draw only the stage, block or column at this path (e.g. stage3, stage1.dcac)."
    ),
    shapes: bool = typer.Option(False, "--shapes/--no-shapes", help="Label the edges with tensor shapes."),
    theme: str = typer.Option("paper", "--theme", "-t", help="Colours: paper, dark or mono."),
    rankdir: str = typer.Option("LR", "--rankdir", help="LR: stages left to right; TB: top to bottom."),
    net: str = typer.Option(
        None,
        "--net",
        help="Which net or space (at its default point) of the file (default: the only one, or the file's name).",
    ),
    param: list[str] = typer.Option(None, "--param", "-p", help="Override a net parameter: NAME=VALUE (repeatable)."),
    input_size: int = typer.Option(None, "--input-size", min=1, help="Override the input height and width."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not print the 'wrote ...' line."),
) -> None:
    """Render a net as a figure: stages as clusters, columns side by side, DC-AC layers in colour.

    Writes DOT, SVG, PNG or PDF through Graphviz. DOT output is byte-identical for the same spec
    and options, and node ids are the IR paths (stage1.dcac.attn.maxpool).
    """
    from archdsl import backend as hook
    from archdsl.diagnostics import DiagnosticError

    to_stdout = output == "-"
    out_path = None if output is None or to_stdout else Path(output)
    try:
        be = hook.load(RENDERER)
        hook.require(be, hook.RENDER, "render a figure")
        chosen = hook.render_format(be, out_path, fmt, to_stdout=to_stdout)
        options = hook.parse_options(
            be,
            {
                "depth": depth if depth is not None else ("ops" if focus else "blocks"),
                "expand": expand if expand is not None else bool(focus),
                "focus": focus,
                "shapes": shapes,
                "theme": theme.lower(),
                "rankdir": rankdir.upper(),
            },
        )
    except DiagnosticError as exc:
        _fail(exc)

    loaded = load_or_exit(spec, net, param, input_size)
    graph = loaded.graph
    target = None if to_stdout else (out_path if out_path is not None else Path(f"{graph.name}.{chosen}"))
    if target is not None:
        check_outputs([target])  # never draw over the spec (or a link to it): refused before rendering
    try:
        data = be.render(graph, options, chosen)
    except DiagnosticError as exc:
        _fail(exc)

    if target is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        raise typer.Exit(EXIT_OK)
    write_or_exit(target, data)
    if not quiet:
        sys.stderr.write(f"wrote {target} ({chosen}, {len(data):,} bytes)\n")


def _fail(exc) -> None:
    """Report a backend's diagnostics; the exit is their kind's (a bad option 2, a missing tool 3)."""
    print_diagnostics(exc.diagnostics, SourceMap())
    raise exit_for(exc.diagnostics)
