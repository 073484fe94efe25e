"""Calibrate the per-op latency model on the host from micro-benchmarks (``archdsl bench calibrate``).

The estimator is worth trusting on a device we cannot reach only if the *same* model, calibrated
on a machine we can reach, predicts what that machine measures. This module does the calibration:

1. **Machine roofs**, measured with onnxruntime on single-op graphs: the per-op dispatch
   overhead (a chain of tiny ReLUs against one), the bandwidth of cache-resident data and of
   DRAM (an elementwise add at ~1 MB and at ~100 MB per tensor), and the compute reference
   (the best FLOP rate any convolution micro-benchmark reaches; efficiencies are relative to it).
   Cache size: the last-level cache reported by the OS.
2. **Per-kind efficiencies**: for every op kind of :data:`.costmodel.KINDS`, single ops at a few
   sizes (:data:`MICRO`, a fixed grid spanning small mobile nets, *not* taken from the zoo),
   timed with onnxruntime's profiler (kernel time of the op's own nodes: no session overhead,
   no layout reorders; the fastest run over two rounds through all of them), and the
   (``compute_eff``, ``memory_eff``, ``overhead_s``) that minimises the mean absolute log error of
   the roofline over that kind's samples (a grid search: 70 × 50 × 8).

Each micro-benchmark goes through the real pipeline: a one-op ``.arch`` net, the resolver, the
ONNX backend, onnxruntime, so the op costs what it costs in a compiled spec. The result is a
:class:`~.costmodel.Machine` written as JSON; ``--target model -O calibration=FILE`` uses it.
A run takes 10-40 s. On a Raspberry Pi run the same command there (docs/bench.md).
"""

from __future__ import annotations

import json
import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .costmodel import KINDS, CostItem, KindParams, Machine, cost_items, item_time

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

# What the onnxruntime CPU provider fuses into a convolution (conv_activation_fusion and the
# NCHWc transformer on x86-64: Relu, Clip, Sigmoid, HardSigmoid, HardSwish, Tanh; Conv + Add).
HOST_FUSED_ACTS = ("relu", "relu6", "sigmoid", "hardsigmoid", "hardswish", "tanh")

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


def _net_text(name: str, shape: tuple[int, ...], pipeline: str) -> str:
    c, h, w = shape
    return f"import std\n\nnet {name} {{\n    input image [{c}, {h}, {w}]\n    y = {pipeline}\n}}\n"


class Bench:
    """Builds and times one-op graphs with onnxruntime (kernel times from the profiler)."""

    def __init__(self, workdir: Path, threads: int, budget_s: float = 0.15, max_runs: int = 40):
        import onnxruntime  # noqa: F401  (fail early with ImportError)

        self.workdir = workdir
        self.threads = threads
        self.budget_s = budget_s
        self.max_runs = max_runs
        self._n = 0

    def graph(self, shape: tuple[int, ...], pipeline: str):
        from archdsl.resolve import load_graph

        self._n += 1
        path = self.workdir / f"micro{self._n}.arch"
        path.write_text(_net_text(f"micro{self._n}", shape, pipeline))
        return load_graph(path)

    def session(self, graph, profile: bool):
        import onnxruntime as ort
        from archdsl_backends.onnx import build_model, serialize

        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.log_severity_level = 3
        if profile:
            so.enable_profiling = True
            so.profile_file_prefix = str(self.workdir / f"prof{self._n}")
        model = serialize(build_model(graph, {"check": False, "shapes": False}))
        return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])

    def _runs(self, sess, feeds, warm: int = 3) -> tuple[list[float], int]:
        for _ in range(warm):
            sess.run(None, feeds)
        times: list[float] = []
        start = time.perf_counter()
        while len(times) < self.max_runs and (len(times) < 5 or time.perf_counter() - start < self.budget_s):
            t0 = time.perf_counter()
            sess.run(None, feeds)
            times.append(time.perf_counter() - t0)
        return times, 3

    def _feeds(self, sess):
        import numpy as np

        inp = sess.get_inputs()[0]
        shape = [1, *[int(d) for d in inp.shape[1:]]]
        return {inp.name: np.random.default_rng(0).standard_normal(shape).astype(np.float32)}

    def wall(self, graph) -> float:
        sess = self.session(graph, profile=False)
        times, _ = self._runs(sess, self._feeds(sess))
        return min(times)

    def start(self, graph):
        """A profiled session for ``graph``, warmed up: time it with :meth:`more`, read it with :meth:`finish`."""
        sess = self.session(graph, profile=True)
        feeds = self._feeds(sess)
        _, warm = self._runs(sess, feeds)
        return {"sess": sess, "feeds": feeds, "graph": graph, "warm": warm}

    def more(self, handle) -> None:
        """Another round of runs (a later round sees other load from other processes)."""
        self._runs(handle["sess"], handle["feeds"], warm=0)

    def finish(self, handle) -> tuple[float, int]:
        """Fastest per-run kernel time of the graph's last IR node (its ONNX nodes, fused or not)."""
        graph, warm = handle["graph"], handle["warm"]
        events = json.loads(Path(handle["sess"].end_profiling()).read_text())
        target = graph.nodes[-1].id
        others = [n.id for n in graph.nodes[:-1]]
        per_run: dict[int, float] = {}
        seen: dict[str, int] = {}
        for e in events:
            if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
                continue
            name = e["name"][: -len("_kernel_time")]
            if e["args"].get("op_name", "").startswith("Reorder"):
                continue
            if any(name == o or name.startswith(o + "/") for o in others) and not (
                name == target or name.startswith(target + "/") or name.startswith(target + ".")
            ):
                continue
            k = seen.get(name, 0)
            seen[name] = k + 1
            per_run[k] = per_run.get(k, 0.0) + e["dur"] * 1e-6
        runs = [v for k, v in sorted(per_run.items()) if k >= warm]
        return (min(runs) if runs else 0.0), len(runs)

    def kernel_time(self, graph) -> tuple[float, int]:
        return self.finish(self.start(graph))


def host_cache_bytes() -> int:
    for name in ("SC_LEVEL3_CACHE_SIZE", "SC_LEVEL2_CACHE_SIZE"):
        try:
            size = os.sysconf(name)
        except (ValueError, OSError):
            continue
        if size and size > 0:
            return int(size)
    return 8 << 20


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
        total = len(micro) + 3
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
        fused_acts=HOST_FUSED_ACTS,
        fuse_add=True,
        default_threads=threads,
    )
    kinds: dict[str, KindParams] = {}
    fit_err: dict[str, float] = {}
    by_kind: dict[str, list[Sample]] = {}
    for s in samples:
        by_kind.setdefault(s.kind, []).append(s)
    for kind, group in by_kind.items():
        kinds[kind], fit_err[kind] = _fit_kind(group, base.with_kinds(copy=KindParams(1.0)), threads)
    for kind in KINDS:
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
            "fused_acts": "onnxruntime CPU provider fusions (conv_activation_fusion, NCHWc transformer)",
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


TOLERANCE = 0.25


def validate(
    machine: Machine,
    specs: list[tuple[Path, Any]],
    threads: int,
    warmup: int = 3,
    runs: int = 20,
    clock: str = "wall",
    progress=None,
) -> dict[str, Any]:
    """Measure ``specs`` with onnxruntime here and compare with the model's predictions.

    The specs are measured in two interleaved rounds (A B C ... A B C ...), so a burst of load
    from other processes hits all of them alike. ``clock='cpu'`` compares with the process CPU
    time per inference (one thread: the wall time an idle machine would show).
    """
    from .artefact import onnx_file
    from .costmodel import predict
    from .runner import measure
    from .stats import pairwise_order, percentile, spearman

    key = "cpu_timings_s" if clock == "cpu" else "timings_s"
    rounds = 2 if runs >= 4 else 1
    per_round = math.ceil(runs / rounds)
    with tempfile.TemporaryDirectory(prefix="archdsl-validate-") as tmp:
        files = [onnx_file(g, Path(tmp)) for _, g in specs]
        times: list[list[float]] = [[] for _ in specs]
        total = rounds * len(specs)
        for r in range(rounds):
            for i, path in enumerate(files):
                if progress:
                    progress(0, 1, r * len(specs) + i, total, f"validating: {specs[i][1].name}")
                res = measure(str(path), warmup if r == 0 else 1, per_round, threads)
                times[i] += res[key]
    rows = []
    for (path, graph), ts in zip(specs, times, strict=True):
        pred = predict(graph, machine, threads).seconds
        med = statistics.median(ts)
        rows.append(
            {
                "net": graph.name,
                "spec": str(path),
                "predicted_ms": round(pred * 1e3, 3),
                "measured_ms": round(med * 1e3, 3),
                "measured_p10_ms": round(percentile(ts, 10) * 1e3, 3),
                "error": round(pred / med - 1, 4),
            }
        )
    pred = [r["predicted_ms"] for r in rows]
    meas = [r["measured_ms"] for r in rows]
    same, pairs = pairwise_order(pred, meas)
    return {
        "clock": clock,
        "threads": threads,
        "runs": rounds * per_round,
        "tolerance": TOLERANCE,
        "rows": rows,
        "spearman": round(spearman(pred, meas), 4) if len(rows) > 1 else None,
        "pairs_ordered": [same, pairs],
        "max_abs_error": round(max(abs(r["error"]) for r in rows), 4) if rows else None,
        "within_tolerance": all(abs(r["error"]) <= TOLERANCE for r in rows),
    }


def validation_lines(report: dict[str, Any]) -> list[str]:
    rows = report["rows"]
    w = max([4, *(len(r["net"]) for r in rows)])
    clock = "process CPU time" if report["clock"] == "cpu" else "wall time"
    lines = [
        f"validation: predicted vs measured median ({clock}, onnxruntime, {report['threads']} thread(s), "
        f"{report['runs']} runs)",
        f"{'spec':{w}}  {'predicted ms':>12}  {'measured ms':>11}  {'error':>7}",
    ]
    for r in rows:
        flag = "" if abs(r["error"]) <= report["tolerance"] else "  (outside +-25%)"
        lines.append(
            f"{r['net']:{w}}  {r['predicted_ms']:12.2f}  {r['measured_ms']:11.2f}  {100 * r['error']:+6.1f}%{flag}"
        )
    if report["spearman"] is not None:
        same, pairs = report["pairs_ordered"]
        lines.append(
            f"rank correlation (Spearman) {report['spearman']:.3f}; pairs in the right order {same}/{pairs}; "
            f"max |error| {100 * report['max_abs_error']:.1f}%"
        )
    return lines
