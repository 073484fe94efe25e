"""Accuracy evaluators: a number for "how good would this net be", for design exploration.

``archdsl explore`` (and anyone else) ranks candidate nets by an *evaluator*: a zero-cost proxy
computed at the seeded initialisation (:mod:`.naswot`, :mod:`.synflow`, :mod:`.zico`: no training,
a fraction of a second on a CPU) or a short training run (:mod:`.train`). Proxies are proxies: they correlate with
trained accuracy, more or less (docs/evaluators.md has the measured correlations); every output
that shows one says so (:attr:`Evaluator.kind`).

Evaluators plug in through the entry-point group ``archdsl.evaluators``, like backends
(``archdsl.backends``) and benchmark targets (``archdsl.targets``)::

    [project.entry-points."archdsl.evaluators"]
    myproxy = "my_package.proxy:EVALUATOR"

An evaluator is any object with the attributes of :class:`Evaluator`: ``name``, ``needs_torch``,
``higher_is_better``, ``description`` and ``evaluate(graph, *, seed=0, options=None) -> float``,
which raises :class:`~archdsl.diagnostics.DiagnosticError` (codes ``B5xx`` of
:mod:`archdsl.codes`) when it cannot evaluate: torch missing (``B502``), an unknown or bad option
(``B503``/``B504``), a net above its memory budget (``B505``), an unreadable dataset (``B506``), a
failed evaluation (``B507``). :func:`load_evaluator` finds one by name (``B501`` with a
did-you-mean for an unknown name) and caches it; :func:`available` lists the installed names.

In the import layers this package sits above ``archdsl_backends`` and below the CLI: it builds
torch modules through the backend hook (:func:`archdsl.backend.load`). Importing it is cheap:
torch is imported inside ``evaluate`` only.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from archdsl.diagnostics import Diagnostic, DiagnosticError, Severity, did_you_mean

from .options import EvaluatorOptions, parse_options

if TYPE_CHECKING:
    from archdsl.ir import Graph

GROUP = "archdsl.evaluators"


@runtime_checkable
class Evaluator(Protocol):
    """The protocol of an evaluator (see the module docstring)."""

    name: str
    needs_torch: bool
    higher_is_better: bool
    description: str

    def evaluate(self, graph: Graph, *, seed: int = 0, options: dict[str, Any] | None = None) -> float:
        """The score of ``graph`` (deterministic for a ``seed`` on CPU); DiagnosticError on failure."""


def kind(evaluator: Any) -> str:
    """``"proxy"`` or ``"accuracy"`` (an evaluator may declare ``kind``; zero-cost proxies do)."""
    return str(getattr(evaluator, "kind", "proxy"))


@cache
def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def available() -> list[str]:
    """The names of the installed evaluators, sorted (nothing is loaded)."""
    return sorted(_entry_points())


_LOADED: dict[str, Any] = {}


def load_evaluator(name: str) -> Evaluator:
    """The evaluator published as ``name`` (loaded once, then cached).

    Raises DiagnosticError ``B501`` for an unknown name (with a did-you-mean) and ``B502`` when
    its module cannot be imported for a missing package.
    """
    if name in _LOADED:
        return _LOADED[name]
    eps = _entry_points()
    if name not in eps:
        raise DiagnosticError(
            Diagnostic(
                "B501",
                f"unknown evaluator '{name}'",
                None,
                Severity.ERROR,
                did_you_mean(name, set(eps)) or f"installed evaluators: {', '.join(sorted(eps)) or 'none'}",
            )
        )
    try:
        obj = eps[name].load()
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        raise DiagnosticError(
            Diagnostic(
                "B502",
                f"the {name} evaluator needs '{missing}', which is not installed",
                None,
                Severity.ERROR,
                "pip install 'archdsl[torch]'",
            )
        ) from None
    _LOADED[name] = obj
    return obj


__all__ = [
    "GROUP",
    "Evaluator",
    "EvaluatorOptions",
    "available",
    "kind",
    "load_evaluator",
    "parse_options",
]
