"""The backend hook: how a target (PyTorch, ONNX, Graphviz, a benchmark device ...) plugs in.

A backend is any object with the attributes of :class:`Backend`, published under the entry-point
group ``archdsl.backends``. The built-in backends in ``backends/`` (installed as the package
``archdsl_backends``) are registered in ``pyproject.toml`` exactly the way a third-party package
registers its own::

    [project.entry-points."archdsl.backends"]
    mytarget = "my_package.archdsl_target:BACKEND"

``archdsl compile SPEC --backend mytarget`` then loads it lazily: nothing of a backend is imported
until it is used, so ``archdsl check`` and ``archdsl lint`` stay free of torch and onnx.

A backend receives the resolved, validated IR (:class:`archdsl.ir.Graph`) and a
:class:`CompileRequest`. Before compiling it should report every op it cannot express as a
located diagnostic (code ``B001``) naming itself, instead of failing later.
See docs/backends.md for a worked example.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from archdsl.diagnostics import Diagnostic, DiagnosticError, Severity, did_you_mean
from archdsl.ir import Graph

GROUP = "archdsl.backends"

# The optional extra that brings each built-in backend's dependencies.
EXTRAS = {"torch": "torch", "onnx": "onnx", "graphviz": "render"}


@dataclass
class CompileRequest:
    """What the user asked for. Backends read the fields they understand and ignore the rest."""

    output: Path | None = None
    emit: tuple[str, ...] = ()
    seed: int = 0
    deploy: bool = False
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class CompileResult:
    artefacts: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@runtime_checkable
class Backend(Protocol):
    name: str
    summary: str

    def unsupported(self, graph: Graph) -> list[Diagnostic]:
        """Diagnostics for every node this backend cannot express (empty when all is fine)."""

    def compile(self, graph: Graph, request: CompileRequest) -> CompileResult:
        """Write the artefacts for ``graph``; raise DiagnosticError for user-facing problems."""


def unsupported_op(backend: str, node, detail: str = "") -> Diagnostic:
    """The standard B001 diagnostic for an op a backend cannot express."""
    msg = f"the {backend} backend cannot express op '{node.op}' (node {node.id})"
    return Diagnostic(
        "B001",
        msg + (f": {detail}" if detail else ""),
        node.span,
        Severity.ERROR,
        help=f"remove the op or choose another backend than '{backend}'",
    )


def available() -> dict[str, Any]:
    """Entry points of the group, by name (not loaded)."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def load(name: str) -> Backend:
    eps = available()
    if name not in eps:
        raise DiagnosticError(
            Diagnostic(
                "B002",
                f"unknown backend '{name}'",
                None,
                help=did_you_mean(name, set(eps)) or f"installed backends: {', '.join(sorted(eps))}",
            )
        )
    try:
        obj = eps[name].load()
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        raise DiagnosticError(
            Diagnostic(
                "B003",
                f"the {name} backend needs '{missing}', which is not installed",
                None,
                help=f"pip install 'archdsl[{EXTRAS.get(name, name)}]'",
            )
        ) from None
    return obj
