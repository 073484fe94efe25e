"""The ``torch`` backend object: what ``archdsl compile`` and ``archdsl.build`` call.

``build_module`` returns a ``torch.fx.GraphModule`` (see :mod:`build`), initialised like timm
(:mod:`archdsl.weights`, through :mod:`.weights`), optionally in deploy form (:mod:`deploy`).
``compile`` writes the artefacts:

==============  =====================================================================
``python``      ``<net>.py``: standalone PyTorch module (no archdsl import), :mod:`codegen`
``state_dict``  ``<net>.pt``: the initial weights, ``torch.save(model.state_dict())``
``pt2``         ``<net>.pt2``: ``torch.export`` program (eval mode, dynamic batch)
==============  =====================================================================

Every artefact goes through :func:`archdsl.fileio.atomic_write` (torch writes into the temporary
file object, so no temporary name ends up inside the archive and the bytes stay deterministic):
an interrupted compile leaves the previous artefacts, and a path that is an input of the run
(the spec, an import, the weights) is refused before anything is built.

Options (``-O KEY=VALUE``): the model :class:`.options.TorchOptions` (``channels_last``,
``dynamic_batch``, ``batch``, ``weights``), validated by the hook; ``archdsl compile --help``
lists them. With ``--deploy`` a ``weights`` file is loaded first, then transformed.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from archdsl import backend as hook
from archdsl.backend import CompileRequest, CompileResult
from archdsl.diagnostics import Diagnostic, DiagnosticError, Span
from archdsl.fileio import atomic_write, check_output, note_input
from archdsl.ir import Graph

from . import codegen, weights
from .build import GRAPH_KEY, materialize, wants_channels_last
from .deploy import deploy_graph
from .lower import NAME, unsupported
from .options import EMITS, TorchOptions


def build_module(
    graph: Graph, seed: int = 0, deploy: bool = False, channels_last: bool | None = None
) -> torch.fx.GraphModule:
    """The ``torch.nn.Module`` for ``graph``: initialised with ``seed``, in deploy form if asked.

    A deploy-form module is returned in eval mode (its batch norms are folded away).
    """
    if channels_last is None:
        channels_last = wants_channels_last(graph)
    module = materialize(graph, channels_last=channels_last)
    weights.initialise(module, graph, seed)
    if channels_last:
        module = module.to(memory_format=torch.channels_last)
    if deploy:
        module = reparameterize(module)
    return module


def reparameterize(module: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """The deploy form of a module made by :func:`build_module` (trained or not), in eval mode."""
    graph = getattr(module, "meta", {}).get(GRAPH_KEY)
    if graph is None:
        raise ValueError("reparameterize() takes a module made by archdsl.build / build_module (it carries its IR)")
    if module.meta.get("archdsl_features") is not None:
        raise ValueError(
            "reparameterize() takes a full module made by archdsl.build, not a feature module "
            "(features of a deploy-form module are not supported yet)"
        )
    channels_last = module.meta.get("archdsl_channels_last", False)
    new_graph, state = deploy_graph(graph, module.state_dict())
    out = materialize(new_graph, channels_last=channels_last)
    if channels_last:
        out = out.to(memory_format=torch.channels_last)
    out.load_state_dict(state)
    out.meta["archdsl_deploy"] = True
    return out.eval()


def _error(graph: Graph, message: str, help: str | None, code: str) -> DiagnosticError:
    return DiagnosticError(Diagnostic(code, message, Span(graph.file, 0, 0, 0, 0), help=help))


def _load_weights(graph: Graph, module: torch.nn.Module, path: Path) -> None:
    """Load a weights file into ``module``; problems are B008 and B009 diagnostics (:mod:`.weights`)."""
    weights.load_into(graph, module, path)


class TorchBackend:
    name = NAME
    summary = "PyTorch: nn.Module (torch.fx), standalone .py, torch.export .pt2, state_dict"
    options_model = TorchOptions
    emits = EMITS
    default_emits = EMITS
    capabilities = frozenset({hook.BUILD_MODULE})

    def unsupported(self, graph: Graph, options: TorchOptions | dict[str, Any] | None = None) -> list[Diagnostic]:
        return unsupported(graph)  # no option changes what can be expressed

    def build_module(self, graph: Graph, seed: int = 0, deploy: bool = False, **kwargs: Any) -> torch.nn.Module:
        diags = unsupported(graph)
        if diags:
            raise DiagnosticError(diags)
        return build_module(graph, seed=seed, deploy=deploy, **kwargs)

    def build_features(self, graph: Graph, features=None, out_indices=None, seed: int = 0, **kwargs: Any):
        """The multi-scale feature module (:mod:`.features`): its forward returns the chosen stage outputs."""
        from .features import build_features

        diags = unsupported(graph)
        if diags:
            raise DiagnosticError(diags)
        return build_features(graph, features, out_indices, seed=seed, **kwargs)

    def load_weights(self, module: torch.nn.Module, state_dict, source=None, strict: bool = True):
        """A foreign state_dict matched by structure (:mod:`.mapping`): ``archdsl.load_weights``."""
        from .mapping import load_weights

        return load_weights(module, state_dict, source=source, strict=strict)

    def output_paths(self, graph: Graph, request: CompileRequest) -> list[Path]:
        """The files :meth:`compile` would write (the command line checks them before any work)."""
        return list(_output_paths(graph, request.output, self._emits(graph, request)).values())

    def _emits(self, graph: Graph, request: CompileRequest) -> tuple[str, ...]:
        emits = tuple(dict.fromkeys(request.emit)) or self.default_emits
        hook.check_emits(self, emits)
        return emits

    def compile(self, graph: Graph, request: CompileRequest) -> CompileResult:
        opts: TorchOptions = hook.parse_options(self, request.options)
        emits = self._emits(graph, request)
        channels_last = wants_channels_last(graph) if opts.channels_last is None else opts.channels_last
        dynamic, batch = opts.dynamic_batch, opts.batch
        paths = _output_paths(graph, request.output, emits)
        if opts.weights is not None:
            note_input(opts.weights)  # no artefact may replace the weights it was made from
        for path in paths.values():
            check_output(path)  # refuse before building anything

        module = build_module(graph, seed=request.seed, channels_last=channels_last)
        if opts.weights is not None:
            _load_weights(graph, module, Path(opts.weights))
        if request.deploy:
            module = reparameterize(module)
        final_graph = module.meta[GRAPH_KEY]
        result = CompileResult()
        # every artefact is written atomically: an interrupted write leaves the previous file
        for emit in emits:
            path = paths[emit]
            if emit == "python":
                atomic_write(path, codegen.generate(final_graph, deploy=request.deploy, channels_last=channels_last))
            elif emit == "state_dict":
                state = module.state_dict()
                atomic_write(path, lambda fh, state=state: torch.save(state, fh))
            elif emit == "pt2":
                program = _export(module, final_graph, dynamic, batch)
                atomic_write(path, lambda fh, program=program: torch.export.save(program, fh))
            result.artefacts.append(path)
        if request.deploy:
            result.messages.append(
                f"deploy form: {final_graph.total_params:,} parameters in {len(final_graph.nodes)} ops "
                f"(from {graph.total_params:,} in {len(graph.nodes)})"
            )
        return result


SUFFIX = {"python": ".py", "state_dict": ".pt", "pt2": ".pt2"}


def _output_paths(graph: Graph, output: Path | None, emits: tuple[str, ...]) -> dict[str, Path]:
    """``-o`` names a folder (default ``build/<net>/``), or a file whose stem every artefact takes."""
    if output is None:
        return {e: Path("build") / graph.name / f"{graph.name}{SUFFIX[e]}" for e in emits}
    if output.suffix in SUFFIX.values():
        return {e: output.with_suffix(SUFFIX[e]) for e in emits}
    return {e: output / f"{graph.name}{SUFFIX[e]}" for e in emits}


def _export(module: torch.nn.Module, graph: Graph, dynamic: bool, batch: int) -> torch.export.ExportedProgram:
    # the archive stores weights by storage range and warns on channels_last ones: export contiguous
    # weights (the forward still converts the activations to channels_last)
    module = copy.deepcopy(module).eval().to(memory_format=torch.contiguous_format)
    shape = graph.inputs[0].type.shape
    example = (torch.randn(batch, *shape, generator=torch.Generator().manual_seed(0)),)  # deterministic .pt2
    dynamic_shapes = None
    if dynamic:
        dynamic_shapes = ({0: torch.export.Dim("batch", min=1, max=4096)},)
    try:
        with torch.no_grad():
            program = torch.export.export(module, example, dynamic_shapes=dynamic_shapes)
    except Exception as exc:  # torch.export's own errors are many and version-dependent
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _error(
            graph,
            f"torch.export could not export net {graph.name}: {first}",
            "write the other artefacts with --emit python --emit state_dict, or try -O dynamic_batch=false",
            "B104",
        ) from None
    return program


BACKEND = TorchBackend()
