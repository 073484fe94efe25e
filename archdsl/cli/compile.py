"""``archdsl compile``: check a spec, then hand the IR to a backend (PyTorch by default).

Everything backend-specific goes through the hook's protocol (:mod:`archdsl.backend`): ``-O``
values are validated by the backend's options model, ``--emit`` against what it emits, its limits
by ``unsupported(graph, options)``; exit codes come from the codes' kinds (:mod:`archdsl.codes`).
``compile --help`` lists every installed backend's options from its model, read without importing
torch or onnx.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import typer
from typer.core import TyperCommand

from archdsl.cli import app
from archdsl.cli.common import (
    cannot_write,
    check_output_option,
    check_outputs,
    exit_for,
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

  archdsl compile specs/attendnext.arch --input-size 160 -O channels_last=false -O dynamic_batch=false -O batch=1

torch backend (the default): --emit python (a standalone PyTorch module, no archdsl import),
state_dict (<net>.pt, torch.save of the weights), pt2 (<net>.pt2, torch.export program, eval mode);
without --emit it writes all three into build/<net>/.

onnx backend: <net>.onnx (--emit onnx, the default) and the weights used (--emit safetensors).
--opset N, --no-fold and --weights FILE are -O opset=N, -O fold=false and -O weights=FILE. See docs/onnx.md.

Exit codes: 0 written; 1 the spec (or a weights file) has errors, or an op the backend cannot
express; 2 a bad option, --emit or --backend; 3 a missing dependency or a failed tool.
"""


def backend_options_help(width: int = 78) -> list[str]:
    """One block per installed backend: its options, from its options model (name, type, default,
    description). Models published under ``archdsl.backend_options`` are read without importing
    the backend (no torch, no onnx)."""
    from archdsl.backend import describe, option_models

    blocks = []
    for name, model in option_models().items():
        if isinstance(model, str):
            blocks.append(f"{name} backend: {model}")
            continue
        rows = describe(model)
        if not rows:
            blocks.append(f"{name} backend: no options")
            continue
        w_name = max(len(r[0]) for r in rows)
        w_kind = max(len(r[1]) for r in rows)
        w_default = max(len(r[2]) for r in rows)
        lines = [f"{name} backend options (-O KEY=VALUE):"]
        for opt, kind, default, text in rows:
            lead = f"  {opt:<{w_name}}  {kind:<{w_kind}}  {default:<{w_default}}  "
            wrapped = textwrap.wrap(text, width=max(30, width - len(lead))) or [""]
            lines.append((lead + wrapped[0]).rstrip())
            lines += [" " * len(lead) + more for more in wrapped[1:]]
        blocks.append("\n".join(lines))
    return blocks


class CompileCommand(TyperCommand):
    """``compile --help`` with the installed backends' options after the examples."""

    def format_epilog(self, ctx, formatter) -> None:
        super().format_epilog(ctx, formatter)
        try:
            blocks = backend_options_help((formatter.width or 80) - formatter.current_indent - 2)
        except Exception as exc:  # help must never fail; say why the list is missing
            blocks = [f"(the backends' options could not be listed: {type(exc).__name__}: {exc})"]
        for block in blocks:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text("\b\n" + block)  # \b: click keeps the lines as they are


@app.command(epilog=EPILOG, cls=CompileCommand)
def compile(
    spec: Path = typer.Argument(..., help="The spec file.", show_default=False),
    backend: str = typer.Option("torch", "--backend", "-b", help="Backend to compile with (see `archdsl backends`)."),
    output: Path = typer.Option(None, "--output", "-o", help="Output file or directory (default: build/<net>/)."),
    emit: list[str] = typer.Option(None, "--emit", "-e", help="Artefacts to write (backend-specific, repeatable)."),
    net: str = typer.Option(
        None,
        "--net",
        help="Which net or space (at its default point) of the file (default: the only one, or the file's name).",
    ),
    param: list[str] = typer.Option(None, "--param", "-p", help="Override a net parameter: NAME=VALUE (repeatable)."),
    input_size: int = typer.Option(None, "--input-size", min=1, help="Override the input height and width."),
    seed: int = typer.Option(0, "--seed", help="Seed for weight initialisation."),
    deploy: bool = typer.Option(False, "--deploy", help="Apply deploy transforms (fold BN, re-parameterise)."),
    option: list[str] = typer.Option(
        None, "--option", "-O", help="Backend option KEY=VALUE (repeatable; listed below per backend)."
    ),
    weights: Path = typer.Option(None, "--weights", help="Weights file to compile in (= -O weights=PATH)."),
    opset: int = typer.Option(None, "--opset", help="ONNX backend only: the opset to target (= -O opset=N)."),
    no_fold: bool = typer.Option(
        False, "--no-fold", help="ONNX backend only: keep batch norms unfolded (= -O fold=false)."
    ),
    quantize: str = typer.Option(None, "--quantize", help="ONNX backend only: int8 (= -O quantize=int8)."),
    calibration: Path = typer.Option(
        None, "--calibration", help="ONNX backend only: calibration images for --quantize int8 (= -O calibration=DIR)."
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
    raw = parse_overrides(option)
    # shorthands for common backend options (validated by the backend's model like -O ones)
    shorthands = (("weights", weights and str(weights)), ("opset", opset), ("quantize", quantize))
    raw.update({k: v for k, v in (*shorthands, ("calibration", calibration and str(calibration))) if v is not None})
    if no_fold:
        raw["fold"] = False
    if isinstance(raw.get("weights"), str):
        note_input(raw["weights"])  # an input too: no artefact may replace it
    check_output_option(output)  # `-o SPEC` is refused before a backend is even loaded
    emits = tuple(emit or ())
    try:
        be = hook.load(backend)
        options = hook.parse_options(be, raw)
        hook.check_emits(be, emits)
    except DiagnosticError as exc:
        print_diagnostics(exc.diagnostics, loaded.sources)
        raise exit_for(exc.diagnostics) from None
    diags = hook.unsupported(be, graph, options)
    if diags:
        print_diagnostics(diags, loaded.sources)
        raise exit_for(diags)
    request = CompileRequest(output=output, emit=emits, seed=seed, deploy=deploy, options=options)
    try:
        # every artefact path is checked before anything is built or written
        planned = getattr(be, "output_paths", None)
        check_outputs(planned(graph, request) if planned is not None else [])
        result = be.compile(graph, request)
    except DiagnosticError as exc:
        print_diagnostics(exc.diagnostics, loaded.sources)
        raise exit_for(exc.diagnostics) from None
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
