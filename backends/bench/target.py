"""The target protocol (the benchmark hook) and the registry of targets.

A *target* is where a spec's latency comes from: this machine (``host``), a device reached over
SSH (``ssh``), or an analytical model of a processor (``a72``, ``model``). Every target follows
one protocol, so ``archdsl bench`` treats them alike and a third party can add a device::

    [project.entry-points."archdsl.targets"]
    mydevice = "my_package.archdsl_device:MyDeviceTarget"

The entry point names a *factory*: a callable (normally the class) taking the dictionary of
``-O KEY=VALUE`` options and returning a configured target. It raises :class:`TargetError` for
bad options. A target then:

1. ``prepare(graph, settings, workdir)`` → :class:`Prepared`: builds whatever it runs (an
   ``.onnx`` file with :func:`archdsl_backends.bench.artefact.onnx_file`, say) under ``workdir``;
2. ``run(prepared, settings, progress)`` → :class:`Measurement`: raw timings of every timed
   run (seconds, one per run, batch ``settings.batch``) plus environment facts (device, OS,
   runtime versions ...) and whether the timings are an *estimate*; it calls ``progress(done,
   total)`` now and then if it can;
3. ``close()``: releases connections and temporary files (always called, also after errors).

Statistics (median, p90, ...) are computed by archdsl from the raw timings, never by the target,
so every target is summarised the same way. See docs/bench.md for a worked example.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class BenchSettings:
    """How to run: the same for every target. ``threads=None`` means the target's default."""

    warmup: int = 10
    runs: int = 50
    threads: int | None = None
    batch: int = 1
    seed: int = 0

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
    """Validate ``-O`` options against ``known`` (name → accepted types); a helper for targets."""
    from archdsl.diagnostics import did_you_mean

    out = {}
    for key, value in options.items():
        if key not in known:
            hint = did_you_mean(key, set(known)) or (
                f"options of the {target} target: {', '.join(sorted(known))}" if known else "it takes no options"
            )
            raise TargetError(f"the {target} target has no option '{key}'", hint)
        types = known[key] if isinstance(known[key], tuple) else (known[key],)
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if str in types and not isinstance(value, str) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = " or ".join(t.__name__ for t in types)
            raise TargetError(f"option '{key}' of the {target} target must be {names}, got {value!r}")
        out[key] = value
    return out
