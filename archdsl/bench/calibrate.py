"""Calibrate the per-op latency model on the host from micro-benchmarks (``archdsl bench calibrate``).

The estimator is worth trusting on a device we cannot reach only if the *same* model, calibrated
on a machine we can reach, predicts what that machine measures. This module does the calibration:

1. **Machine roofs**, measured with onnxruntime on single-op graphs: the per-op dispatch
   overhead (a chain of tiny ReLUs against one), the bandwidth of cache-resident data and of
   DRAM (an elementwise add at ~1 MB and at ~100 MB per tensor), and the compute reference
   (the best FLOP rate any convolution micro-benchmark reaches; efficiencies are relative to it).
   Cache size: the last-level cache reported by the OS.
2. **Per-kind efficiencies**: for every op kind of :data:`archdsl.analysis.machine.MACHINE_KINDS`,
   single ops at a few sizes (:data:`MICRO`, a fixed grid spanning small mobile nets, *not* taken
   from the zoo), timed with onnxruntime's profiler (kernel time of the op's own nodes: no session
   overhead, no layout reorders; the fastest run over two rounds through all of them), and the
   (``compute_eff``, ``memory_eff``, ``overhead_s``) that minimises the mean absolute log error of
   the roofline over that kind's samples (a grid search: 70 × 50 × 8).
3. **Fusion**: which activations onnxruntime fuses into the convolution before them, and
   whether it fuses a residual add: every op with the activation trait (from the op registry, not
   a list kept here) is probed as ``conv -> act``, the add as ``residual { conv }``; it is fused
   when the session runs one kernel for the pair. The answer differs between onnxruntime builds
   (x86-64 NCHWc, ARM), so it is measured, not assumed.

Each micro-benchmark goes through the real pipeline: a one-op net (built in memory with
``load_graph(text=...)``), the resolver, the ONNX backend, onnxruntime, so the op costs what it
costs in a compiled spec. The result is a :class:`~archdsl.analysis.machine.Machine` written as
JSON; ``--target model -O calibration=FILE`` uses it. A run takes 10-40 s. On a Raspberry Pi run
the same command there (docs/bench.md). The micro-benchmark machinery is :mod:`.microbench`; the
validation on specs (``bench calibrate SPEC...``) is :mod:`.validate`.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from archdsl.analysis.latency import CostItem, cost_items, item_time
from archdsl.analysis.machine import MACHINE_KINDS, KindParams, Machine

from .microbench import Bench, host_cache_bytes, probe_fusion

# (kind, input [C, H, W], pipeline text applied to the input)
MICRO: list[tuple[str, tuple[int, int, int], str]] = [
    ("conv_1x1", (16, 112, 112), "conv(96)"),
    ("conv_1x1", (24, 56, 56), "conv(144)"),
    ("conv_1x1", (128, 28, 28), "conv(128)"),
    ("conv_1x1", (384, 14, 14), "conv(64)"),
    ("conv_1x1", (320, 7, 7), "conv(1280)"),
    ("conv_1x1", (512, 14, 14), "conv(512)"),
    ("conv_dense", (3, 224, 224), "conv(32, k = 3, s = 2)"),
    ("conv_dense", (3, 224, 224), "conv(16, k = 3)"),
    ("conv_dense", (64, 56, 56), "conv(64, k = 3)"),
    ("conv_dense", (128, 28, 28), "conv(128, k = 3)"),
    ("conv_dense", (256, 14, 14), "conv(256, k = 3)"),
    ("conv_dense", (512, 7, 7), "conv(512, k = 3)"),
    ("conv_grouped", (32, 112, 112), "conv(32, k = 3, groups = 4)"),
    ("conv_grouped", (80, 28, 28), "conv(80, k = 3, groups = 4)"),
    ("conv_grouped", (128, 28, 28), "conv(128, k = 3, groups = 8)"),
    ("conv_grouped", (160, 14, 14), "conv(160, k = 3, groups = 4)"),
    ("conv_grouped", (320, 7, 7), "conv(320, k = 3, groups = 4)"),
    ("conv_dw", (32, 112, 112), "conv(32, k = 3, groups = 32)"),
    ("conv_dw", (96, 112, 112), "conv(96, k = 3, s = 2, groups = 96)"),
    ("conv_dw", (144, 56, 56), "conv(144, k = 5, groups = 144)"),
    ("conv_dw", (240, 28, 28), "conv(240, k = 3, groups = 240)"),
    ("conv_dw", (480, 14, 14), "conv(480, k = 5, groups = 480)"),
    ("conv_dw", (960, 7, 7), "conv(960, k = 3, groups = 960)"),
    ("linear", (1280, 1, 1), "flatten -> linear(1000)"),
    ("linear", (576, 1, 1), "flatten -> linear(1024)"),
    ("linear", (64, 32, 32), "unfold(2) -> linear(128)"),
    ("linear", (144, 16, 16), "unfold(2) -> linear(288)"),
    ("attention", (96, 32, 32), "unfold(2) -> mhsa(4)"),
    ("attention", (120, 16, 16), "unfold(2) -> mhsa(4)"),
    ("attention", (64, 16, 16), "unfold(2) -> mhsa(2)"),
    ("pool", (32, 112, 112), "maxpool(2)"),
    ("pool", (80, 28, 28), "maxpool(2)"),
    ("pool", (128, 28, 28), "avgpool(2)"),
    ("pool", (960, 7, 7), "gap"),
    ("pool", (64, 56, 56), "gap"),
    ("blurpool", (32, 112, 112), "blurpool(3, 2)"),
    ("blurpool", (40, 56, 56), "blurpool(3, 2)"),
    ("blurpool", (160, 14, 14), "blurpool(3, 2)"),
    ("softmax", (32, 56, 56), "softmax"),
    ("softmax", (80, 28, 28), "softmax"),
    ("softmax", (256, 14, 14), "softmax"),
    ("norm", (96, 32, 32), "unfold(2) -> layernorm"),
    ("norm", (144, 16, 16), "unfold(2) -> layernorm"),
    ("norm", (64, 28, 28), "bn"),
    ("activation", (32, 112, 112), "silu"),
    ("activation", (64, 56, 56), "silu"),
    ("activation", (320, 14, 14), "silu"),
    ("activation", (96, 32, 32), "gelu"),
    ("activation", (480, 14, 14), "hardswish"),
    ("activation", (128, 28, 28), "sigmoid"),
    ("elementwise", (32, 112, 112), "add(image, image)"),
    ("elementwise", (64, 56, 56), "mul(image, image)"),
    ("elementwise", (320, 14, 14), "add(image, image)"),
    ("elementwise", (96, 32, 32), "relu"),
    ("copy", (64, 56, 56), "concat(image, image)"),
    ("copy", (40, 28, 28), "upsample(2)"),
    ("copy", (116, 28, 28), "shuffle(2)"),
    ("layout", (96, 32, 32), "unfold(2)"),
    ("layout", (144, 16, 16), "unfold(2)"),
    ("layout", (64, 32, 32), "unfold(2) -> fold(2)"),
]

# Bandwidth probes: an add streams 3 tensors. Cache: ~1 MiB per tensor; DRAM: ~100 MB per tensor.
CACHE_PROBE = (64, 64, 64)
DRAM_PROBE = (64, 640, 640)

COMPUTE_GRID = [0.001 * (2500 ** (i / 69)) for i in range(70)]  # 0.001 .. 2.5
MEMORY_GRID = [0.01 * (400 ** (i / 49)) for i in range(50)]  # 0.01 .. 4
ROUNDS = 2  # passes over all micro-benchmarks; a burst of load from other processes rarely hits both
OVERHEAD_GRID = [0.0, 1e-6, 2e-6, 4e-6, 8e-6, 16e-6, 32e-6, 64e-6]  # seconds per op


@dataclass
class Sample:
    kind: str
    shape: tuple[int, int, int]
    op: str
    measured_s: float
    flops: float
    act_bytes: float
    weight_bytes: float
    runs: int


def _fit_kind(samples: list[Sample], base: Machine, threads: int) -> tuple[KindParams, float]:
    """The (compute_eff, memory_eff, overhead_s) with the least mean absolute log error over ``samples``.

    Absolute (not squared) error, so one sample disturbed by another process moves the fit little.

    The roofline terms at efficiency 1 are computed once per sample; the grid search then only
    divides: ``max(t_compute / ce, t_memory / me) + overhead``.
    """
    unit = base.with_kinds(**{samples[0].kind: KindParams(1.0, 1.0)})
    terms = []
    for s in samples:
        t_c = item_time(_item_flops_only(s), unit, threads, False) - unit.op_overhead_s if s.flops else 0.0
        t_m = item_time(_item_bytes_only(s), unit, threads, False) - unit.op_overhead_s
        terms.append((t_c, t_m, math.log(s.measured_s)))
    best, best_err = KindParams(1.0, 1.0), math.inf
    for oh in OVERHEAD_GRID:
        for ce in COMPUTE_GRID:
            for me in MEMORY_GRID:
                err = 0.0
                for t_c, t_m, log_meas in terms:
                    pred = max(t_c / ce, t_m / me) + oh
                    err += abs(math.log(pred) - log_meas) if pred > 0 else 1e9
                if err < best_err:
                    best, best_err = KindParams(round(ce, 4), round(me, 4), oh), err
    return best, best_err / len(samples)


def calibrate(
    threads: int = 1,
    progress: Callable[[int, int, str], None] | None = None,
    micro: list[tuple[str, tuple[int, int, int], str]] | None = None,
    budget_s: float = 0.15,
) -> Machine:
    """Run the micro-benchmarks on this machine and return the fitted :class:`Machine`.

    ``micro`` replaces :data:`MICRO` (kinds without samples keep efficiency 1); ``budget_s`` is
    the timing budget per micro-benchmark (at least 5 runs each).
    """
    micro = MICRO if micro is None else micro
    import platform

    import onnxruntime as ort

    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="archdsl-calib-") as tmp:
        bench = Bench(Path(tmp), threads, budget_s)
        total = len(micro) + 4
        step = 0

        def tick(what: str) -> None:
            nonlocal step
            step += 1
            if progress:
                progress(step, total, what)

        # 1. dispatch overhead: a chain of 41 tiny ReLUs against a single one
        one = bench.wall(bench.graph((8, 4, 4), "relu"))
        chain = bench.wall(bench.graph((8, 4, 4), " -> ".join(["relu"] * 41)))
        op_overhead = max(0.0, (chain - one) / 40)
        tick("dispatch overhead")

        # 2. bandwidth: an elementwise add in cache and from DRAM (3 tensors of traffic)
        def bw(shape):
            t, _ = bench.kernel_time(bench.graph(shape, "add(image, image)"))
            return 3 * 4 * math.prod(shape) / t

        cache_bw = bw(CACHE_PROBE)
        tick("cache bandwidth")
        dram_bw = bw(DRAM_PROBE)
        tick("DRAM bandwidth")

        fused_acts, fuse_add = probe_fusion(bench)
        tick("fusion")

        # 3. micro-benchmarks, in ROUNDS rounds over all of them: the fastest run of each counts
        handles = []
        for kind, shape, pipeline in micro:
            handles.append(bench.start(bench.graph(shape, pipeline)))
            tick(f"{kind} {list(shape)} {pipeline}")
        for _ in range(ROUNDS - 1):
            for h in handles:
                bench.more(h)
        samples: list[Sample] = []
        for (kind, shape, pipeline), h in zip(micro, handles, strict=True):
            t, runs = bench.finish(h)
            t = max(t, 1e-6)  # the profiler counts whole microseconds
            graph = h["graph"]
            item = next(it for it in cost_items(graph) if it.node == graph.nodes[-1].id)
            samples.append(Sample(kind, shape, pipeline, t, item.flops, item.act_bytes, item.weight_bytes, runs))
        del handles

    rates = [s.flops / s.measured_s for s in samples if s.kind in ("conv_1x1", "conv_dense") and s.measured_s > 0]
    rates = rates or [s.flops / s.measured_s for s in samples if s.flops and s.measured_s > 0] or [1e9]
    peak = max(rates)
    cache = host_cache_bytes()
    cpus = os.cpu_count() or 1
    base = Machine(
        name="host-calibrated",
        label=f"ESTIMATE: per-op model calibrated on {platform.node()} ({threads} thread(s)), not a measurement",
        peak_flops_core=peak / threads,
        cores=cpus,
        dram_bw=dram_bw,
        dram_bw_core=dram_bw / threads,
        cache_bytes=cache,
        cache_bw_core=cache_bw / threads,
        parallel_eff=1.0,
        grain_flops=0.0,
        op_overhead_s=op_overhead,
        sync_overhead_s=0.0,
        kinds={},
        fused_acts=fused_acts,
        fuse_add=fuse_add,
        default_threads=threads,
    )
    kinds: dict[str, KindParams] = {}
    fit_err: dict[str, float] = {}
    by_kind: dict[str, list[Sample]] = {}
    for s in samples:
        by_kind.setdefault(s.kind, []).append(s)
    for kind, group in by_kind.items():
        kinds[kind], fit_err[kind] = _fit_kind(group, base, threads)
    for kind in MACHINE_KINDS:
        kinds.setdefault(kind, KindParams(1.0, 1.0))
    fitted = replace(base, kinds=kinds)
    from .runner import environment

    env = environment()
    machine = replace(
        fitted,
        sources={
            "method": "archdsl bench calibrate: onnxruntime micro-benchmarks on this machine",
            "peak_flops_core": "best FLOP rate of the conv micro-benchmarks (efficiencies are relative to it)",
            "bandwidths": f"elementwise add of {list(CACHE_PROBE)} (cache) and {list(DRAM_PROBE)} (DRAM)",
            "op_overhead_s": "wall time of 41 chained tiny ReLUs minus one, per op",
            "cache_bytes": "last-level cache size from sysconf",
            "fused_acts": "probed: conv -> activation and residual { conv } micro-nets run as one onnxruntime kernel",
        },
        calibration={
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": round(time.perf_counter() - t_start, 1),
            "threads": threads,
            "cpu": env.get("cpu"),
            "node": env.get("node"),
            "onnxruntime": ort.__version__,
            "fit_mean_abs_log_error": {k: round(v, 3) for k, v in fit_err.items()},
            "samples": [
                {
                    "kind": s.kind,
                    "input": list(s.shape),
                    "op": s.op,
                    "measured_us": round(s.measured_s * 1e6, 2),
                    "predicted_us": round((item_time(_item(s), fitted, threads, False) - op_overhead) * 1e6, 2),
                }
                for s in samples
            ],
        },
    )
    return machine


def _item(s: Sample) -> CostItem:
    return CostItem("", s.op, s.kind, s.flops, s.act_bytes, s.weight_bytes)


def _item_flops_only(s: Sample) -> CostItem:
    return CostItem("", s.op, s.kind, s.flops, 0.0, 0.0)


def _item_bytes_only(s: Sample) -> CostItem:
    return CostItem("", s.op, s.kind, 0.0, s.act_bytes, s.weight_bytes)


def summary_lines(machine: Machine) -> list[str]:
    """A human-readable digest of a calibration, for the CLI."""
    c = machine.calibration
    lines = [
        f"calibrated in {c.get('seconds', '?')} s, {c.get('threads')} thread(s), onnxruntime {c.get('onnxruntime')}",
        f"compute reference {machine.peak_flops_core * machine.default_threads / 1e9:.1f} GFLOP/s, "
        f"cache bandwidth {machine.cache_bw_core * machine.default_threads / 1e9:.1f} GB/s, "
        f"DRAM bandwidth {machine.dram_bw / 1e9:.1f} GB/s, "
        f"cache {machine.cache_bytes / 2**20:.0f} MiB, op overhead {machine.op_overhead_s * 1e6:.2f} us",
        f"{'kind':14} {'compute_eff':>11} {'memory_eff':>10} {'overhead us':>11} {'fit error':>9}",
    ]
    err = c.get("fit_mean_abs_log_error", {})
    for kind, kp in machine.kinds.items():
        if kind in err:
            e = f"{100 * (math.exp(err[kind]) - 1):8.0f}%"
            lines.append(f"{kind:14} {kp.compute_eff:11.3f} {kp.memory_eff:10.3f} {kp.overhead_s * 1e6:11.1f} {e:>9}")
    return lines
