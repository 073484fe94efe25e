"""``archdsl weights map``: a checkpoint of another implementation, re-keyed for a spec's module.

The checkpoint (``.safetensors``, ``.npz``, or a ``torch.save``'d ``state_dict`` read with
``weights_only=True``) holds only tensors and their names; the structure that pairs them with the
spec's tensors comes from running the other implementation. ``--timm NAME`` builds that model
locally with timm (``pretrained=False``: nothing is downloaded), ``--torchvision NAME`` with
torchvision (``weights=None``); the checkpoint is checked against its ``state_dict`` layout and
both modules are traced (:mod:`archdsl_backends.torch.mapping`). The result is a safetensors file
under the spec's names, which ``archdsl compile -O weights=...`` and both backends read.

Problems are B008 (the checkpoint cannot be read), B009 (it does not fit: a layer without a
counterpart, shapes that differ, tensors no layer reads), B003 (torch or timm missing); an unknown
model name is a usage error. Nothing is written unless every tensor of the spec is matched.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from archdsl.cli import app
from archdsl.cli.common import EXIT_TOOL, EXIT_USAGE, check_outputs, exit_for, load_or_exit, print_diagnostics

weights_app = typer.Typer(
    help="Weights of other implementations: map a checkpoint onto a spec by structure.",
    no_args_is_help=True,
)
app.add_typer(weights_app, name="weights")

EPILOG = """Examples:

  archdsl weights map specs/baselines/resnet18.arch resnet18.safetensors --timm resnet18 -o r18.safetensors

  archdsl weights map specs/baselines/resnet18.arch r18_tv.pth --torchvision resnet18 -o r18.safetensors

The checkpoint's architecture is built locally (pretrained=False), never downloaded. See docs/downstream.md.
"""


def _usage(message: str, help: str | None = None) -> typer.Exit:
    sys.stderr.write(f"archdsl: error: {message}\n" + (f"  = help: {help}\n" if help else ""))
    return typer.Exit(EXIT_USAGE)


def _missing(package: str) -> typer.Exit:
    sys.stderr.write(
        f"archdsl: error[B003]: {package} is not installed\n"
        f"  = help: pip install {package} (for timm models: scripts/setup_timm_env.sh builds an environment)\n"
    )
    return typer.Exit(EXIT_TOOL)


def _source_module(timm_name: str | None, torchvision_name: str | None, in_chans: int, classes: int | None):
    if timm_name is not None:
        try:
            import timm
        except ImportError:
            raise _missing("timm") from None
        if not timm.is_model(timm_name):
            from archdsl.diagnostics import did_you_mean

            hint = did_you_mean(timm_name, set(timm.list_models()))
            raise _usage(f"timm has no model '{timm_name}'", hint or "timm.list_models() lists them")
        kwargs = {"in_chans": in_chans}
        if classes is not None:
            kwargs["num_classes"] = classes
        return timm.create_model(timm_name, pretrained=False, **kwargs), f"timm {timm_name}"
    try:
        import torchvision
    except ImportError:
        raise _missing("torchvision") from None
    try:
        kwargs = {} if classes is None else {"num_classes": classes}
        return torchvision.models.get_model(torchvision_name, weights=None, **kwargs), f"torchvision {torchvision_name}"
    except ValueError:
        raise _usage(
            f"torchvision has no model '{torchvision_name}'", "torchvision.models.list_models() lists them"
        ) from None


@weights_app.command("map", epilog=EPILOG)
def map_weights(
    spec: Path = typer.Argument(..., help="The spec file.", show_default=False),
    checkpoint: Path = typer.Argument(
        ..., help="The other implementation's weights: .safetensors, .npz or a torch state_dict.", show_default=False
    ),
    output: Path = typer.Option(..., "--output", "-o", help="The safetensors file to write (the spec's names)."),
    timm_name: str = typer.Option(None, "--timm", help="The checkpoint's architecture: a timm model name."),
    torchvision_name: str = typer.Option(
        None, "--torchvision", help="The checkpoint's architecture: a torchvision model name."
    ),
    net: str = typer.Option(None, "--net", help="Which net of the file."),
    param: list[str] = typer.Option(None, "--param", "-p", help="Override a net parameter: NAME=VALUE (repeatable)."),
    allow_unused: bool = typer.Option(
        False, "--allow-unused", help="Write even when some checkpoint tensors are read by no layer (they are listed)."
    ),
) -> None:
    """Map a checkpoint of another implementation onto SPEC by the structure of the computation
    (execution order of the parameterised layers, their kinds and shapes; not names)."""
    from archdsl.diagnostics import Span
    from archdsl.fileio import note_input
    from archdsl.weights import WeightsError
    from archdsl.weights.files import read_file

    loaded = load_or_exit(spec, net, param)
    graph = loaded.graph
    if (timm_name is None) == (torchvision_name is None):
        raise _usage(
            "name the checkpoint's architecture with --timm NAME or --torchvision NAME (one of them)",
            "the checkpoint holds only tensors: the other implementation is built locally to trace it",
        )
    note_input(checkpoint)  # -o may not replace it
    check_outputs([output])
    where = Span(str(checkpoint), 0, 0, 0, 0)

    def refuse(exc: WeightsError) -> typer.Exit:
        diags = exc.diagnostics(where)
        print_diagnostics(diags, loaded.sources)
        return exit_for(diags)

    try:  # read (and bound) the checkpoint before the heavy imports: a bad file fails fast
        arrays = read_file(checkpoint, graph)
    except WeightsError as exc:
        raise refuse(exc) from None
    try:
        import torch
    except ImportError:
        raise _missing("torch") from None
    in_chans = graph.inputs[0].type.shape[0]
    classes = graph.params.get("classes")
    source, label = _source_module(timm_name, torchvision_name, in_chans, classes if isinstance(classes, int) else None)
    import numpy as np
    from archdsl_backends.torch.backend import build_module
    from archdsl_backends.torch.mapping import load_weights

    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    module = build_module(graph)
    try:
        mapping = load_weights(module, state, source=source, strict=not allow_unused)
    except WeightsError as exc:
        raise refuse(exc) from None
    from archdsl.weights import safetensors_file

    out = {ours: arrays[theirs] for ours, theirs in mapping.pairs.items()}
    meta = {"archdsl.spec_hash": graph.source_hash, "archdsl.net": graph.name, "archdsl.mapped_from": label}
    safetensors_file.save(out, output, meta)  # atomic; an OutputError is exit 2 (the entry point)
    typer.echo(
        f"mapped {len(mapping.pairs)} tensors of {mapping.layers} layers from {label} onto net {graph.name}: {output}"
    )
    for tie in mapping.ties:
        typer.echo(f"  note: interchangeable layers paired in execution order: {tie}")
    for key in mapping.skipped:
        if not key.endswith("num_batches_tracked"):
            typer.echo(f"  note: not loaded (no layer reads it): {key}")
