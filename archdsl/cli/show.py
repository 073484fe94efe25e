"""``archdsl show``: the per-stage table of output shapes, parameters and MACs; or the IR as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from archdsl.cli import app
from archdsl.cli.common import MAX_ELEMENTS_HELP, human, load_or_exit
from archdsl.diagnostics import printable


def format_table(graph, depth: int = 1) -> str:
    from archdsl.analysis import summarize

    rows = summarize(graph, depth)
    total_p = graph.total_params or 1
    header = ("stage", "kind", "output", "params", "%", "MACs")
    body = [
        (
            ("  " * (r.depth - 1)) + r.path.split(".")[-1] if r.depth > 1 else r.path,
            r.kind,
            str(r.out),
            f"{r.params:,}",
            f"{100 * r.params / total_p:.1f}",
            human(r.macs),
        )
        for r in rows
    ]
    inp = graph.inputs[0]
    body.insert(0, (inp.name, "input", str(inp.type), "0", "0.0", "0"))
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]
    right = {3, 4, 5}

    def fmt(row):
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )

    lines = [f"net {graph.name}  ({printable(graph.file)})", fmt(header), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in body]
    lines.append("  ".join("-" * w for w in widths))
    lines.append(
        f"total: {graph.total_params:,} parameters ({human(graph.total_params)}), "
        f"{graph.total_macs:,} MACs ({human(graph.total_macs)}), {len(graph.nodes)} ops, "
        f"output {graph.output_type}"
    )
    if graph.meta:
        lines.append("meta: " + ", ".join(f"{k} = {printable(str(v))}" for k, v in graph.meta.items()))
    return "\n".join(lines)


@app.command(
    epilog="Examples:\n\n  archdsl show specs/attendnext.arch\n\n"
    "  archdsl show specs/attendnext.arch --depth 2\n\n"
    "  archdsl show specs/attendnext.arch -p width=0.75 --json > ir.json"
)
def show(
    spec: Path = typer.Argument(..., help="The spec file.", show_default=False),
    depth: int = typer.Option(1, "--depth", "-d", min=1, help="Path depth to expand (1 = stages)."),
    net: str = typer.Option(
        None,
        "--net",
        help="Which net or space (at its default point) of the file (default: the only one, or the file's name).",
    ),
    param: list[str] = typer.Option(None, "--param", "-p", help="Override a net parameter: NAME=VALUE (repeatable)."),
    input_size: int = typer.Option(None, "--input-size", min=1, help="Override the input height and width."),
    as_json: bool = typer.Option(False, "--json", help="Print the IR as JSON instead of the table."),
    max_elements: int = typer.Option(None, "--max-elements", min=1, help=MAX_ELEMENTS_HELP),
) -> None:
    """Show a net: output shape, parameters and MACs per stage (or per block with --depth), and totals.

    MACs count multiply-accumulates of conv/linear/norm layers as torchinfo does (see docs/language.md).
    """
    loaded = load_or_exit(spec, net, param, input_size, max_elements=max_elements)
    if as_json:
        typer.echo(loaded.graph.to_json())
    else:
        typer.echo(format_table(loaded.graph, depth))


@app.command(epilog="Example:\n\n  archdsl schema > archdsl-ir.schema.json")
def schema() -> None:
    """Print the JSON Schema of the IR (what `archdsl show --json` prints)."""
    from archdsl.ir import ir_json_schema

    typer.echo(json.dumps(ir_json_schema(), indent=2, sort_keys=True))
