"""archdsl: a declarative language for CNN/attention backbone architectures, and its compiler.

Python API (imports stay light; torch loads only in :func:`build`)::

    import archdsl
    graph = archdsl.load("specs/attendnext.arch", width=0.75)   # validated IR
    model = archdsl.build("specs/attendnext.arch", width=0.75)  # torch.nn.Module
    result = archdsl.explore("specs/spaces/attendnext_widths.arch", objectives=["a72_latency", "params"])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__version__ = "0.1.0"


def load(spec: str | Path, net: str | None = None, input_shape: tuple[int, ...] | None = None, **params: Any):
    """Parse, resolve and shape-check a spec; returns the IR :class:`archdsl.ir.Graph`.

    Keyword arguments override the net's parameters and are validated like them. ``net`` names a
    net or a search space of the file; a space resolves at its default point (for many points of a
    space, use :func:`archdsl.space.load_space`, which parses once).
    Raises :class:`archdsl.diagnostics.DiagnosticError` with located diagnostics on bad input.
    """
    from archdsl.space.select import resolve_selected

    return resolve_selected(spec, net, params, input_shape).graph


def build(
    spec: str | Path,
    net: str | None = None,
    seed: int = 0,
    deploy: bool = False,
    input_shape: tuple[int, ...] | None = None,
    **params: Any,
):
    """Compile a spec to a ``torch.nn.Module`` with the PyTorch backend (needs torch), through the
    hook's protocol: any backend declaring the ``build_module`` capability would do."""
    from archdsl import backend

    graph = load(spec, net=net, input_shape=input_shape, **params)
    torch_backend = backend.load("torch")
    backend.require(torch_backend, backend.BUILD_MODULE, "build a module")
    return torch_backend.build_module(graph, seed=seed, deploy=deploy)


def explore(space_path: str | Path, **kwargs: Any):
    """Run (or resume) a design-exploration study over a search space (needs Optuna); returns an
    :class:`archdsl.explore.ExploreResult`. The arguments are :func:`archdsl.explore.explore`'s
    (``objectives``, ``constraints``, ``trials``, ``storage``, ``seed`` ...); docs/explore.md.

    Once the ``archdsl.explore`` package is imported, ``archdsl.explore`` is that package, which
    is callable in the same way.
    """
    import importlib

    # imported by name: the package sits near the top of the import layers (above bench), and
    # modules below it that import ``archdsl`` for load/build must not depend on it
    return importlib.import_module("archdsl.explore").explore(space_path, **kwargs)
