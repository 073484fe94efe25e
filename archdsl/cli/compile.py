"""``archdsl compile``: check a spec, then hand the IR to a backend (PyTorch by default)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from archdsl.cli import app
from archdsl.cli.common import EXIT_SPEC, fail_tool, load_or_exit, print_diagnostics

EPILOG = """Examples:

  archdsl compile specs/attendnext.arch

  archdsl compile specs/attendnext.arch -o build/ --emit python --emit pt2 --emit state_dict

  archdsl compile specs/attendnext.arch -p width=0.75 --seed 1 --deploy

  archdsl compile specs/attendnext.arch --backend onnx -o attendnext.onnx
"""


@app.command(epilog=EPILOG)
def compile(
    spec: Path = typer.Argument(..., help="The spec file.", show_default=False),
    backend: str = typer.Option("torch", "--backend", "-b", help="Backend to compile with (see `archdsl backends`)."),
    output: Path = typer.Option(None, "--output", "-o", help="Output file or directory (default: build/<net>/)."),
    emit: list[str] = typer.Option(None, "--emit", "-e", help="Artefacts to write (backend-specific, repeatable)."),
    net: str = typer.Option(None, "--net", help="Which net of the file (default: the only one, or the file's name)."),
    param: list[str] = typer.Option(None, "--param", "-p", help="Override a net parameter: NAME=VALUE (repeatable)."),
    input_size: int = typer.Option(None, "--input-size", min=1, help="Override the input height and width."),
    seed: int = typer.Option(0, "--seed", help="Seed for weight initialisation."),
    deploy: bool = typer.Option(False, "--deploy", help="Apply deploy transforms (fold BN, re-parameterise)."),
    option: list[str] = typer.Option(None, "--option", "-O", help="Backend option KEY=VALUE (repeatable)."),
) -> None:
    """Compile a spec with a backend and write its artefacts, then print the summary table."""
    from archdsl import backend as hook
    from archdsl.backend import CompileRequest
    from archdsl.cli.common import parse_overrides
    from archdsl.cli.show import format_table
    from archdsl.diagnostics import DiagnosticError

    loaded = load_or_exit(spec, net, param, input_size)
    graph = loaded.graph
    try:
        be = hook.load(backend)
    except DiagnosticError as exc:
        d = exc.diagnostics[0]
        raise fail_tool(d.message, d.help) from None
    diags = be.unsupported(graph)
    if diags:
        print_diagnostics(diags, loaded.sources)
        raise typer.Exit(EXIT_SPEC)
    request = CompileRequest(
        output=output, emit=tuple(emit or ()), seed=seed, deploy=deploy, options=parse_overrides(option)
    )
    try:
        result = be.compile(graph, request)
    except DiagnosticError as exc:
        print_diagnostics(exc.diagnostics, loaded.sources)
        raise typer.Exit(EXIT_SPEC) from None
    typer.echo(format_table(graph))
    for msg in result.messages:
        sys.stderr.write(msg + "\n")
    for path in result.artefacts:
        typer.echo(f"wrote {path}")


@app.command(name="backends")
def list_backends() -> None:
    """List the installed backends (entry-point group archdsl.backends)."""
    from archdsl.backend import available

    for name, ep in sorted(available().items()):
        typer.echo(f"{name:10} {ep.value}")
