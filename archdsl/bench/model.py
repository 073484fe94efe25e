"""The ``a72`` and ``model`` targets: latency predicted by :mod:`archdsl.analysis.latency`.

``a72`` uses the Cortex-A72 constants of :mod:`archdsl.analysis.a72`; ``model`` the same per-op
model with the constants of a calibration file (``archdsl bench calibrate``, read by
:mod:`archdsl.analysis.machine_file`). Every number they print is an ESTIMATE, labelled so in
the table, the JSON and the results store. A spec with an op the model cannot cost (an op
without a ``cost``, a cost kind the machine has no constants for) is refused before anything
runs, with the located diagnostics of :func:`archdsl.analysis.latency.unsupported`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archdsl.analysis.a72 import A72
from archdsl.analysis.latency import predict, unsupported
from archdsl.analysis.machine import Machine
from archdsl.analysis.machine_file import MAX_BYTES, CalibrationError, load_machine
from archdsl.diagnostics import Diagnostic
from archdsl.fileio import InputError
from archdsl.ir import Graph

from .target import BenchSettings, Measurement, OptionError, Prepared, check_options

DEFAULT_CALIBRATION = Path(".archdsl") / "calibration-host.json"


class ModelTarget:
    """A target whose timings come from :func:`archdsl.analysis.latency.predict` with a :class:`Machine`."""

    estimate = True

    def __init__(self, machine: Machine, name: str, options: dict[str, Any]):
        self.machine = machine
        self.name = name
        self.summary = machine.label
        self.default_threads = machine.default_threads
        self._options = options

    def options(self) -> dict[str, Any]:
        return dict(self._options)

    def unsupported(self, graph: Graph) -> list[Diagnostic]:
        """Located diagnostics for every node the model cannot cost (empty when it can cost them all)."""
        return unsupported(graph, self.machine, self.name)

    def prepare(self, graph: Graph, settings: BenchSettings, workdir: Path) -> Prepared:
        return Prepared(graph)

    def run(self, prepared: Prepared, settings: BenchSettings, progress=None) -> Measurement:
        threads = settings.threads or self.machine.default_threads
        if not 1 <= threads <= self.machine.cores:
            raise OptionError(
                f"the {self.name} model covers 1 to {self.machine.cores} threads, not {threads}",
                f"use --threads 1..{self.machine.cores}",
            )
        pred = predict(prepared.graph, self.machine, threads, settings.batch, self.name, settings.quantize)
        if progress:
            progress(1, 1)
        env = {
            "device": self.machine.name,
            "estimate": True,
            "label": self.machine.label,
            "model": "archdsl per-op roofline (archdsl.analysis.latency)",
        }
        if settings.quantize:
            env["precision"] = settings.quantize
            env["int8_speedup"] = dict(self.machine.int8_speedup)
        if self.machine.calibration:
            env["calibration"] = {k: v for k, v in self.machine.calibration.items() if k != "samples"}
        return Measurement([pred.seconds], env, threads, estimate=True, details=pred.breakdown())

    def close(self) -> None:
        pass


def a72_target(options: dict[str, Any]) -> ModelTarget:
    """Entry point ``a72``: no options."""
    return ModelTarget(A72, "a72", check_options("a72", options, {}))


def model_target(options: dict[str, Any]) -> ModelTarget:
    """Entry point ``model``: the same per-op model with constants from a calibration file.

    ``-O calibration=PATH``: a JSON file written by ``archdsl bench calibrate`` (default
    ``.archdsl/calibration-host.json``, where that command writes it, if it exists). It is read
    and checked by :mod:`.calibfile`: a directory, a special file, an oversized or malformed file
    is an :class:`OptionError` (exit 2), never an internal error.
    """
    opts = check_options("model", options, {"calibration": str})
    path = opts.get("calibration")
    if not path and DEFAULT_CALIBRATION.is_file():
        path = str(DEFAULT_CALIBRATION)
    if not path:
        raise OptionError(
            "the model target needs a calibration file", "-O calibration=calib.json (from `archdsl bench calibrate`)"
        )
    try:
        machine = load_machine(path)
    except InputError as exc:
        hints = {
            "missing": "write one with `archdsl bench calibrate`",
            "directory": "pass the calibration file itself, e.g. -O calibration=.archdsl/calibration-host.json",
            "special": "pass a regular file written by `archdsl bench calibrate`",
            "too_large": f"a calibration file is a few KB; the limit is {MAX_BYTES:,} bytes",
        }
        message = exc.message if exc.reason != "missing" else f"calibration file {path} not found"
        raise OptionError(message, hints.get(exc.reason, "check the path and its permissions")) from None
    except CalibrationError as exc:
        raise OptionError(
            f"{path} is not a valid calibration file: {exc}", "write one with `archdsl bench calibrate`"
        ) from None
    opts["calibration"] = str(Path(path).resolve())
    return ModelTarget(machine, "model", opts)
