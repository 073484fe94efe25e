"""One-op micro-benchmarks with onnxruntime, for ``archdsl bench calibrate`` (:mod:`.calibrate`).

:func:`micro_graph` builds a one-op net in memory (``load_graph(text=...)``: nothing is written
and parsed again); :class:`Bench` compiles it with the ONNX backend and times it with
onnxruntime's profiler (kernel time of the op's own nodes); :func:`probe_fusion` asks onnxruntime
which of the registry's activation ops, and whether a residual add, it fuses into a convolution.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from archdsl.ops import OPS


def micro_graph(name: str, shape: tuple[int, ...], pipeline: str):
    """The one-op net ``image [shape] -> pipeline``, parsed and resolved in memory (no file)."""
    from archdsl.resolve import load_graph

    dims = ", ".join(str(d) for d in shape)
    text = f"import std\n\nnet {name} {{\n    input image [{dims}]\n    y = {pipeline}\n}}\n"
    return load_graph(f"<calibration>/{name}.arch", text=text)


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
        self._n += 1
        return micro_graph(f"micro{self._n}", shape, pipeline)

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

    def one_kernel(self, graph) -> bool:
        """Whether onnxruntime runs ``graph`` as a single kernel (layout reorders aside): all fused."""
        sess = self.session(graph, profile=True)
        feeds = self._feeds(sess)
        sess.run(None, feeds)
        events = json.loads(Path(sess.end_profiling()).read_text())
        kernels = {
            e["name"]
            for e in events
            if e.get("cat") == "Node"
            and e["name"].endswith("_kernel_time")
            and not e["args"].get("op_name", "").startswith("Reorder")
        }
        return len(kernels) == 1


def probe_fusion(bench: Bench) -> tuple[tuple[str, ...], bool]:
    """(activations fused into the convolution before them, whether a residual add is fused).

    The candidates are the registry's activation ops, each as its example usage after a 3×3
    convolution; an op that cannot be built or run that way counts as not fused.
    """
    from archdsl.diagnostics import DiagnosticError

    def fused(shape: tuple[int, ...], pipeline: str) -> bool:
        try:
            return bench.one_kernel(bench.graph(shape, pipeline))
        except (DiagnosticError, RuntimeError, ValueError):
            return False

    acts = tuple(
        name
        for name, spec in OPS.items()
        if spec.traits.activation
        and len(shape := spec.example_input) == 3
        and fused(shape, f"conv({shape[0]}, k = 3) -> {spec.example or name}")
    )
    return acts, fused((16, 16, 16), "residual { conv(16, k = 3) }")


def host_cache_bytes() -> int:
    for name in ("SC_LEVEL3_CACHE_SIZE", "SC_LEVEL2_CACHE_SIZE"):
        try:
            size = os.sysconf(name)
        except (ValueError, OSError):
            continue
        if size and size > 0:
            return int(size)
    return 8 << 20
