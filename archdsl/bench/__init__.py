"""Benchmark targets, the results store and the report: ``archdsl bench`` and ``archdsl report``.

Benchmarking is not a backend: it *uses* backends (a spec is compiled to ONNX, or built as a
PyTorch module, through the backend hook) and the latency analysis of :mod:`archdsl.analysis`.
In the import layers it sits below ``archdsl.cli`` and above ``archdsl_backends``; the CLI
imports it lazily, when ``archdsl bench`` or ``archdsl report`` runs.

Targets plug in through the entry-point group ``archdsl.targets`` (the protocol is in
:mod:`.target`; docs/bench.md has a worked third-party example). The built-ins:

- ``host`` (:mod:`.host`): onnxruntime (or PyTorch eager) on this machine;
- ``ssh`` (:mod:`.ssh`): a device over OpenSSH, running :mod:`.runner` with its onnxruntime;
- ``a72`` (:mod:`.model`): the latency analysis :mod:`archdsl.analysis.latency` with the
  Cortex-A72 constants of :mod:`archdsl.analysis.a72` (an *estimate*);
- ``model`` (:mod:`.model`): the same per-op model with constants calibrated on a machine by
  ``archdsl bench calibrate`` (:mod:`.calibrate`, :mod:`.microbench`, :mod:`.validate`).

:mod:`.session` runs specs on a target and records them in the SQLite store (:mod:`.store`);
:mod:`.report` draws the paper's figures from the store (matplotlib, imported lazily).
Nothing here is imported by ``archdsl check``/``lint``; importing this package is cheap (no numpy,
onnxruntime or matplotlib until a target or the report needs them).
"""

from __future__ import annotations

from .target import GROUP, BenchSettings, Measurement, OptionError, Prepared, Target, TargetError, available, load

__all__ = [
    "GROUP",
    "BenchSettings",
    "Measurement",
    "OptionError",
    "Prepared",
    "Target",
    "TargetError",
    "available",
    "load",
]
