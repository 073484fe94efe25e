"""``archdsl compile``: check a spec, then hand the IR to a backend (PyTorch by default)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from archdsl.cli import app
from archdsl.cli.common import (
    EXIT_SPEC,
    cannot_write,
    check_output_option,
    check_outputs,
    fail_tool,
    load_or_exit,
    output_refused,
    print_diagnostics,
)

EPILOG = """Examples:

  archdsl compile specs/attendnext.arch

  archdsl compile specs/attendnext.arch -o build/ --emit python --emit pt2 --emit state_dict

  archdsl compile specs/attendnext.arch -p width=0.75 --seed 1 --deploy

  archdsl compile specs/attendnext.arch --backend onnx -o attendnext.onnx

  archdsl compile specs/baselines/mobileone_s1.arch --deploy --emit python -o mobileone_s1.py

  archdsl compile specs/attendnext.arch --input-size 160 -O channels_last=false -O batch=1

torch backend (the default): --emit python (a standalone PyTorch module, no archdsl import),
state_dict (<net>.pt, torch.save of the weights), pt2 (<net>.pt2, torch.export program, eval mode);
without --emit it writes all three into build/<net>/. Options: -O channels_last=true|false,
-O dynamic_batch=true|false (symbolic batch size in the .pt2), -O batch=N (export example batch),
--weights FILE.pt (a state_dict to compile in instead of the seeded initialisation).

onnx backend: <net>.onnx (--emit onnx, the default) and the weights used (--emit safetensors).
Options: --opset N (13 to the newest onnx knows; default 17), --no-fold, --weights FILE
(.safetensors, .npz, or .pt with torch installed), -O dynamic_batch=true|false, -O batch=N,
-O reparam=false, -O shapes=true. See docs/onnx.md.
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
    weights: Path = typer.Option(None, "--weights", help="Weights file to compile in (= -O weights=PATH)."),
    opset: int = typer.Option(None, "--opset", help="ONNX backend only: the opset to target (= -O opset=N)."),
    no_fold: bool = typer.Option(
        False, "--no-fold", help="ONNX backend only: keep batch norms unfolded (= -O fold=false)."
    ),
) -> None:
    """Compile a spec with a backend and write its artefacts, then print the summary table."""
    from archdsl import backend as hook
    from archdsl.backend import CompileRequest
    from archdsl.cli.common import parse_overrides
    from archdsl.cli.show import format_table
    from archdsl.diagnostics import DiagnosticError
    from archdsl.fileio import OutputError, note_input

    loaded = load_or_exit(spec, net, param, input_size)
    graph = loaded.graph
    options = parse_overrides(option)
    # shorthands for common backend options (the backend validates them like -O ones)
    options.update({k: v for k, v in (("weights", weights and str(weights)), ("opset", opset)) if v is not None})
    if no_fold:
        options["fold"] = False
    if isinstance(options.get("weights"), str):
        note_input(options["weights"])  # an input too: no artefact may replace it
    check_output_option(output)  # `-o SPEC` is refused before a backend is even loaded
    try:
        be = hook.load(backend)
    except DiagnosticError as exc:
        d = exc.diagnostics[0]
        raise fail_tool(d.message, d.help) from None
    diags = be.unsupported(graph)
    if diags:
        print_diagnostics(diags, loaded.sources)
        raise typer.Exit(EXIT_SPEC)
    request = CompileRequest(output=output, emit=tuple(emit or ()), seed=seed, deploy=deploy, options=options)
    try:
        # every artefact path is checked before anything is built or written
        planned = getattr(be, "output_paths", None)
        check_outputs(planned(graph, request) if planned is not None else [])
        result = be.compile(graph, request)
    except DiagnosticError as exc:
        print_diagnostics(exc.diagnostics, loaded.sources)
        raise typer.Exit(EXIT_SPEC) from None
    except OutputError as exc:  # a backend's own write refused (atomic_write)
        raise output_refused(exc) from None
    except OSError as exc:  # the output could not be written: not the spec's fault
        raise cannot_write(output, exc) from None
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
