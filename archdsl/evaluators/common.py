"""What the built-in evaluators share: torch on demand, the net at a reduced resolution, a memory
budget, the seeded module and deterministic synthetic inputs.

- :func:`torch_or_error`: ``import torch``, or the ``B502`` diagnostic (``pip install 'archdsl[torch]'``);
- :func:`at_resolution`: the same net re-resolved from its spec at a smaller square input
  (zero-cost proxies are computed at a reduced resolution to bound their cost, docs/evaluators.md);
- :func:`check_budget`: ``B505`` before anything is allocated when the net's activations (from the
  IR's shapes, per sample, times the batch) would exceed the evaluator's memory budget;
- :func:`build`: the module at its seeded initialisation, through the backend hook (``torch``);
- :func:`deterministic`: a context with seeded torch RNG and deterministic algorithms, restored after;
- :func:`synthetic_batch`: a standard-normal batch from numpy's PCG64 (the same on every machine).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from archdsl.diagnostics import Diagnostic, DiagnosticError, Severity
from archdsl.ir import Graph

MIB = 1 << 20


def fail(code: str, message: str, hint: str | None = None) -> DiagnosticError:
    return DiagnosticError(Diagnostic(code, message, None, Severity.ERROR, hint))


def torch_or_error(evaluator: str) -> Any:
    """The ``torch`` module, or DiagnosticError ``B502`` saying how to install it."""
    try:
        import torch
    except ImportError:
        raise fail(
            "B502", f"the {evaluator} evaluator needs 'torch', which is not installed", "pip install 'archdsl[torch]'"
        ) from None
    return torch


def image_input(graph: Graph, evaluator: str) -> tuple[int, int, int]:
    """``(C, H, W)`` of the net's one image input; ``B507`` for any other kind of net."""
    if len(graph.inputs) != 1 or graph.inputs[0].type.layout != "chw" or len(graph.inputs[0].type.shape) != 3:
        raise fail(
            "B507",
            f"the {evaluator} evaluator takes a net with one image input [C, H, W]; net '{graph.name}' has "
            + ", ".join(str(i.type) for i in graph.inputs),
        )
    c, h, w = graph.inputs[0].type.shape
    return c, h, w


def at_resolution(graph: Graph, resolution: int | None, evaluator: str) -> Graph:
    """``graph`` re-resolved from its spec with a ``resolution``² input (its channels unchanged).

    ``None``, or a resolution not below the net's own, returns ``graph`` itself. The spec is read
    again from ``graph.file`` with the net's parameter values (``graph.params``) and must be the
    text the graph was made from (its ``source_hash``); otherwise, or when the net does not fit the
    smaller input (a stage that shrinks to nothing), ``B507`` says so and to pass a larger
    ``resolution`` (or ``"native"``).
    """
    c, h, w = image_input(graph, evaluator)
    if resolution is None or (resolution >= h and resolution >= w):
        return graph
    from archdsl.resolve import load_graph

    where = f"net '{graph.name}' ({graph.file})"
    hint = "pass a larger resolution, or resolution='native' to evaluate the net as it is"
    try:
        small = load_graph(
            graph.file, net=graph.name, overrides=dict(graph.params), input_shape=(c, resolution, resolution)
        )
    except DiagnosticError as exc:
        first = exc.diagnostics[0]
        at = f"{first.span}: " if first.span is not None else ""
        raise fail(
            "B507",
            f"the {evaluator} evaluator cannot resolve {where} at {resolution}x{resolution}: "
            f"{at}error[{first.code}]: {first.message}",
            hint,
        ) from None
    if graph.source_hash and small.source_hash != graph.source_hash:
        raise fail("B507", f"the spec of {where} changed since the net was resolved; cannot re-resolve it", hint)
    return small


def activation_bytes(graph: Graph, batch: int, bytes_per_value: int = 4) -> int:
    """An upper bound of the activations a forward keeps for backward: every node's output, batched."""
    per_sample = sum(n.out.numel for n in graph.nodes) + sum(i.type.numel for i in graph.inputs)
    return per_sample * batch * bytes_per_value


def param_count(graph: Graph) -> int:
    return sum(n.params for n in graph.nodes)


def check_budget(graph: Graph, evaluator: str, needed: int, budget_mb: float, what: str) -> None:
    """``B505`` when ``needed`` bytes exceed ``budget_mb`` MiB, naming the net (before any allocation)."""
    if needed > budget_mb * MIB:
        raise fail(
            "B505",
            f"net '{graph.name}' ({graph.file}) is too big for the {evaluator} evaluator: {what} need about "
            f"{needed / MIB:,.0f} MiB, above its budget of {budget_mb:,.0f} MiB",
            "raise the option max_memory_mb, or lower batch or resolution",
        )


def build(graph: Graph, seed: int, evaluator: str) -> Any:
    """The torch module of ``graph`` at its seeded initialisation, through the backend hook."""
    torch_or_error(evaluator)
    from archdsl import backend

    torch_backend = backend.load("torch")
    backend.require(torch_backend, backend.BUILD_MODULE, "build a module")
    return torch_backend.build_module(graph, seed=seed, deploy=False)


@contextlib.contextmanager
def deterministic(seed: int, strict: bool = True, threads: int | None = 1) -> Iterator[None]:
    """torch seeded with ``seed``, (``strict``: on the CPU) held to deterministic algorithms, and
    on ``threads`` intra-op threads (``None``: torch's default); all restored after.

    One thread is the default of every built-in evaluator: their tensors are small, an explorer
    runs several evaluations side by side, and on a loaded 2-core machine two OpenMP threads made a
    training step of the test net 30x slower than one (510 ms against 17 ms, measured)."""
    import torch

    was = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    old_threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(strict or was, warn_only=not strict and warn_only)
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(was, warn_only=warn_only)
            torch.set_num_threads(old_threads)


def synthetic_batch(shape: tuple[int, ...], seed: int) -> Any:
    """A float32 tensor of standard-normal values from numpy's PCG64 seeded with ``seed``."""
    import numpy as np
    import torch

    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.standard_normal(shape, dtype=np.float32))


def finite_or_error(value: float, graph: Graph, evaluator: str, hint: str | None = None) -> float:
    import math

    if math.isnan(value):
        raise fail("B507", f"the {evaluator} evaluator got NaN for net '{graph.name}' ({graph.file})", hint)
    return value


__all__ = [
    "activation_bytes",
    "at_resolution",
    "build",
    "check_budget",
    "deterministic",
    "fail",
    "finite_or_error",
    "image_input",
    "param_count",
    "synthetic_batch",
    "torch_or_error",
]
