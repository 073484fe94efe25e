r"""The target protocol (the benchmark hook) and the registry of targets.

A *target* is where a spec's latency comes from: this machine (``host``), a device reached over
SSH (``ssh``), or an analytical model of a processor (``a72``, ``model``). Every target follows
one protocol, so ``archdsl bench`` treats them alike and a third party can add a device::

    [project.entry-points."archdsl.targets"]
    mydevice = "my_package.archdsl_device:MyDeviceTarget"

The entry point names a *factory*: a callable (normally the class) taking the dictionary of
``-O KEY=VALUE`` options and returning a configured target. It raises :class:`TargetError` for
bad options. A target then:

1. ``prepare(graph, settings, workdir)`` → :class:`Prepared`: builds whatever it runs (an
   ``.onnx`` file with :func:`archdsl.bench.artefact.onnx_file`, say) under ``workdir``;
2. ``run(prepared, settings, progress)`` → :class:`Measurement`: raw timings of every timed
   run (seconds, one per run, batch ``settings.batch``) plus environment facts (device, OS,
   runtime versions ...) and whether the timings are an *estimate*; it calls ``progress(done,
   total)`` now and then if it can;
3. ``close()``: releases connections and temporary files (always called, also after errors).

Optionally ``unsupported(graph)`` → a list of located :class:`~archdsl.diagnostics.Diagnostic`\ s
for what the target cannot handle (the model targets: an op without a cost); ``archdsl bench``
asks before anything runs, prints them and exits 1, as ``compile`` does for a backend.

Errors: :class:`TargetError` for anything the user should fix (the CLI prints it with its
``= help:`` line and exits 3: device unreachable, runtime missing ...); its subclass
:class:`OptionError` for a bad ``-O`` option or ``--threads`` (exit 2, a usage error;
:func:`check_options` and :func:`number` raise it). An unknown ``--target`` is a TargetError
(exit 3): it may be a plugin that is not installed.

Statistics (median, p90, ...) are computed by archdsl from the raw timings, never by the target,
so every target is summarised the same way. See docs/bench.md for a worked example.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from archdsl.ir import Graph

GROUP = "archdsl.targets"

Progress = Callable[[int, int], None]


class TargetError(Exception):
    """A user-facing failure of a target (bad option, device unreachable, runtime missing).

    ``hint`` is printed as ``= help:``. The CLI exits with code 3 (the tool failed, not the spec).
    """

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class OptionError(TargetError):
    """A bad option value or thread count: the user's command line is wrong (exit 2)."""


@dataclass(frozen=True)
class BenchSettings:
    """How to run: the same for every target. ``threads=None`` means the target's default."""

    warmup: int = 10
    runs: int = 50
    threads: int | None = None
    batch: int = 1
    seed: int = 0
    quantize: str | None = None
    """``"int8"``: run the statically quantised model (``--quantize int8``); None: fp32"""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Prepared:
    """What ``prepare`` made for one spec: the graph, an artefact file if any, and free-form data."""

    graph: Graph
    path: Path | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Measurement:
    """Raw result of one run of one spec on one target.

    ``timings_s``: one entry per timed run (a model target gives one predicted value).
    ``env``: facts about where it ran (``device``, ``cpu``, ``os``, ``runtime``, versions ...).
    ``estimate``: True when the timings come from a model, not a clock; every output says so.
    ``threads``: the thread count actually used. ``details``: optional extras (per-op breakdown).
    """

    timings_s: list[float]
    env: dict[str, Any]
    threads: int
    estimate: bool = False
    details: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Target(Protocol):
    name: str
    summary: str
    estimate: bool
    """True for analytical targets (their numbers are predictions)."""
    default_threads: int

    def options(self) -> dict[str, Any]:
        """The effective options, for the results store (never secrets)."""

    def prepare(self, graph: Graph, settings: BenchSettings, workdir: Path) -> Prepared: ...

    def run(self, prepared: Prepared, settings: BenchSettings, progress: Progress | None = None) -> Measurement: ...

    def close(self) -> None: ...


TargetFactory = Callable[[dict[str, Any]], Target]


def available() -> dict[str, Any]:
    """Entry points of the ``archdsl.targets`` group, by name (not loaded)."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def load(name: str, options: dict[str, Any] | None = None) -> Target:
    """Load and configure the target ``name``; raises :class:`TargetError` with the known names."""
    eps = available()
    if name not in eps:
        from archdsl.diagnostics import did_you_mean

        known = ", ".join(sorted(eps)) or "none"
        # a TargetError (exit 3), not an OptionError: the name may be a plugin that is not installed
        raise TargetError(f"unknown target '{name}'", did_you_mean(name, set(eps)) or f"installed targets: {known}")
    try:
        factory = eps[name].load()
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        raise TargetError(
            f"the {name} target needs '{missing}', which is not installed", "pip install 'archdsl[bench]'"
        ) from None
    return factory(dict(options or {}))


def check_options(target: str, options: dict[str, Any], known: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    """Validate ``-O`` options against ``known`` (name → accepted types); a helper for targets.

    Raises :class:`OptionError` for an unknown name, a value of the wrong type, a number that is
    not finite (``NaN``, ``inf``, ``1e400``) and an empty string. Ranges are the target's to
    check (:func:`number` helps).
    """
    from archdsl.diagnostics import did_you_mean

    out = {}
    for key, value in options.items():
        if key not in known:
            hint = did_you_mean(key, set(known)) or (
                f"options of the {target} target: {', '.join(sorted(known))}" if known else "it takes no options"
            )
            raise OptionError(f"the {target} target has no option '{key}'", hint)
        types = known[key] if isinstance(known[key], tuple) else (known[key],)
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if str in types and not isinstance(value, str) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = " or ".join(t.__name__ for t in types)
            raise OptionError(
                f"option '{key}' of the {target} target must be {names}, got {_show(value)}", f"-O {key}=<{names}>"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise OptionError(
                f"option '{key}' of the {target} target must be a finite number, got {value!r}",
                f"NaN and infinity are not allowed: -O {key}=<a number>",
            )
        if isinstance(value, str) and not value:
            raise OptionError(
                f"option '{key}' of the {target} target must not be empty", f"-O {key}=VALUE, or leave the option out"
            )
        out[key] = value
    return out


def number(target: str, key: str, value: float, low: float, high: float, *, low_open: bool = False) -> float:
    """``value`` if it is a finite number in ``[low, high]`` (``(low, high]`` with ``low_open``), else OptionError."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and value <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise OptionError(
            f"option '{key}' of the {target} target must be in {bracket}{low:g}, {high:g}], got {_show(value)}",
            f"-O {key}=N with {low:g} {'<' if low_open else '<='} N <= {high:g}",
        )
    return value


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
