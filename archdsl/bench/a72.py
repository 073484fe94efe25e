"""The ``a72`` target: an analytical latency model of the ARM Cortex-A72 (Raspberry Pi 4 class).

Every number it prints is an ESTIMATE, labelled so in the table, the JSON and the results store.
The model is :mod:`.costmodel` (a per-op roofline with per-op-kind efficiencies); this module
holds the Cortex-A72 constants. Where each comes from (``../shared/design.md`` §4 is the
project's fact sheet; the published timings are ncnn's Raspberry Pi 4 benchmark, 4 threads):

============================  ==================  ==================================================
constant                      value               source
============================  ==================  ==================================================
cores, clock                  4 × 1.5 GHz         design.md §4 (BCM2711, Raspberry Pi 4)
FP32 peak per core            12 GFLOP/s          design.md §4 (128-bit NEON, 4 lanes × FMA × 1.5 GHz)
L1D / L2                      32 KiB / 1 MiB      design.md §4 (L2 shared by the 4 cores)
DRAM bandwidth (all cores)    5 GB/s              design.md §4 (sustained, LPDDR4)
DRAM bandwidth (one core)     3.5 GB/s            assumption: one core cannot saturate the controller
L2 bandwidth (one core)       12 GB/s             assumption: half of 16 B/cycle at 1.5 GHz
parallel efficiency           0.92 per thread     assumption: 4 threads = 3.1× one thread
work grain per thread         1e5 FLOP + B        assumption: smaller ops run on fewer threads
op overhead                   8 µs (+4 µs/thread) assumption: layer dispatch + OpenMP fork/join
dense / 1×1 conv efficiency   0.57 / 0.24         fitted to two published timings (ResNet-18,
                                                  MobileNetV2); the other three are held out
other kinds                   see KINDS           assumptions from kernel arithmetic intensity
fused activations             relu, relu6,        ncnn's convolution fusion (relu, clip, sigmoid,
                              sigmoid, hardswish  hardswish); silu/gelu stay separate ops
============================  ==================  ==================================================

``benchmarks/a72_validation.py`` compares the estimates with the five published Pi 4 timings
(MobileNetV2 72.6 ms, MobileNetV3 56.3 ms, ShuffleNetV2 29.8 ms, EfficientNet-B0 94.4 ms,
ResNet-18 176.2 ms) and prints the errors; docs/bench.md has the table. Treat the estimates as
relative figures (Figure 3a's "× FB-Net C"), not as a promise of absolute milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archdsl.fileio import InputError
from archdsl.ir import Graph

from .calibfile import MAX_BYTES, CalibrationError, load_machine
from .costmodel import KindParams, Machine, predict
from .target import BenchSettings, Measurement, OptionError, Prepared, check_options

DEFAULT_CALIBRATION = Path(".archdsl") / "calibration-host.json"

A72_KINDS: dict[str, KindParams] = {
    # fitted: the two factors that reproduce ResNet-18 (176.2 ms) and MobileNetV2 (72.6 ms) exactly
    # (benchmarks/a72_validation.py --fit); MobileNetV3, ShuffleNetV2, EfficientNet-B0 are held out
    "conv_dense": KindParams(compute_eff=0.57, memory_eff=0.8),
    "conv_1x1": KindParams(compute_eff=0.24, memory_eff=0.8),
    # assumptions, each relative to the fitted two where the kernel is alike:
    "conv_grouped": KindParams(compute_eff=0.28, memory_eff=0.7),  # per-group dense conv: half of dense
    "conv_dw": KindParams(compute_eff=0.12, memory_eff=0.6),  # k*k MACs per loaded value: no register reuse
    "linear": KindParams(compute_eff=0.24, memory_eff=0.8),  # a GEMM/GEMV: as the 1x1 conv
    "attention": KindParams(compute_eff=0.24, memory_eff=0.6),  # GEMMs + softmax + transposes
    "pool": KindParams(compute_eff=0.15, memory_eff=0.7),  # streaming, memory-bound
    "blurpool": KindParams(compute_eff=0.12, memory_eff=0.6),  # pad copy + a depthwise conv
    "softmax": KindParams(compute_eff=0.08, memory_eff=0.4),  # exp + a strided reduction over channels
    "norm": KindParams(compute_eff=0.15, memory_eff=0.6),  # two passes
    "activation": KindParams(compute_eff=0.20, memory_eff=0.7),  # NEON polynomial exp
    "elementwise": KindParams(compute_eff=0.50, memory_eff=0.8),  # streaming
    "copy": KindParams(compute_eff=1.0, memory_eff=0.6),
    "layout": KindParams(compute_eff=1.0, memory_eff=0.3),  # 6-D transposes: poor locality
}

A72 = Machine(
    name="a72",
    label="ESTIMATE: analytical Cortex-A72 model (Raspberry Pi 4 class), not a measurement",
    peak_flops_core=12e9,
    cores=4,
    dram_bw=5e9,
    dram_bw_core=3.5e9,
    cache_bytes=1 << 20,
    cache_bw_core=12e9,
    parallel_eff=0.92,
    grain_flops=1e5,
    op_overhead_s=8e-6,
    sync_overhead_s=4e-6,
    kinds=A72_KINDS,
    fused_acts=("relu", "relu6", "sigmoid", "hardswish"),
    fuse_add=False,
    default_threads=4,
    sources={
        "peak_flops_core, cores, cache_bytes, dram_bw": "shared/design.md section 4",
        "fit": "conv_dense and conv_1x1 efficiency: ncnn Raspberry Pi 4 timings of ResNet-18 and MobileNetV2",
        "other": "assumptions, documented in archdsl.bench.a72 and docs/bench.md",
    },
)


class ModelTarget:
    """A target whose timings come from :func:`costmodel.predict` with a :class:`Machine`."""

    estimate = True

    def __init__(self, machine: Machine, name: str, options: dict[str, Any]):
        self.machine = machine
        self.name = name
        self.summary = machine.label
        self.default_threads = machine.default_threads
        self._options = options

    def options(self) -> dict[str, Any]:
        return dict(self._options)

    def prepare(self, graph: Graph, settings: BenchSettings, workdir: Path) -> Prepared:
        return Prepared(graph)

    def run(self, prepared: Prepared, settings: BenchSettings, progress=None) -> Measurement:
        threads = settings.threads or self.machine.default_threads
        if not 1 <= threads <= self.machine.cores:
            raise OptionError(
                f"the {self.name} model covers 1 to {self.machine.cores} threads, not {threads}",
                f"use --threads 1..{self.machine.cores}",
            )
        pred = predict(prepared.graph, self.machine, threads, settings.batch)
        if progress:
            progress(1, 1)
        env = {
            "device": self.machine.name,
            "estimate": True,
            "label": self.machine.label,
            "model": "archdsl per-op roofline (archdsl.bench.costmodel)",
        }
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
