"""The ``host`` target: measure on this machine with onnxruntime (default) or PyTorch eager.

Options (``-O KEY=VALUE``):

- ``engine``: ``onnxruntime`` (the spec compiled by the ONNX backend, run by the same
  :mod:`.runner` the ``ssh`` target ships to devices) or ``torch`` (the PyTorch backend's module
  in eval mode under ``torch.inference_mode``, BN folded with ``--deploy`` semantics when
  ``deploy=true``).
- ``deploy`` (torch only): apply the deploy transforms before timing.
- ``opset`` (onnxruntime only): the ONNX opset to compile to (default: the ONNX backend's).
- ``clock``: ``wall`` (default: ``time.perf_counter`` around each inference) or ``cpu`` (the
  process CPU time of each inference, ``time.process_time``). On a shared machine other jobs
  steal the CPU and inflate wall times; with one thread the CPU time is what an idle machine's
  wall time would be. With several threads it sums them, so it is not a latency then.

Timings are seconds per inference, one per timed run; the other clock is kept in the details.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from archdsl.ir import Graph

from .artefact import onnx_file
from .target import BenchSettings, Measurement, OptionError, Prepared, TargetError, check_options, number

ENGINES = ("onnxruntime", "torch")


class HostTarget:
    name = "host"
    summary = "this machine: onnxruntime (default) or PyTorch eager"
    estimate = False
    default_threads = 1

    def __init__(self, options: dict[str, Any]):
        opts = check_options("host", options, {"engine": str, "deploy": bool, "clock": str, "opset": int})
        self.opset = opts.get("opset")
        if self.opset is not None:
            number("host", "opset", self.opset, 1, 1000)
        self.clock = opts.get("clock", "wall")
        if self.clock not in ("wall", "cpu"):
            hint = "-O clock=wall or -O clock=cpu"
            raise OptionError(f"clock must be 'wall' or 'cpu', not {self.clock[:40]!r}", hint)
        self.engine = opts.get("engine", "onnxruntime")
        if self.engine not in ENGINES:
            hint = "engines: " + ", ".join(ENGINES)
            raise OptionError(f"unknown engine {self.engine[:40]!r} for the host target", hint)
        self.deploy = bool(opts.get("deploy", False))
        if self.deploy and self.engine != "torch":
            raise OptionError(
                "option 'deploy' applies to engine=torch only (the ONNX model is always folded)",
                "-O engine=torch -O deploy=true, or leave deploy out",
            )
        if self.opset is not None and self.engine == "torch":
            hint = "leave -O opset out with engine=torch"
            raise OptionError("option 'opset' applies to engine=onnxruntime only", hint)
        if self.engine == "onnxruntime":
            try:
                import onnxruntime  # noqa: F401
            except ImportError:
                raise TargetError(
                    "the host target needs onnxruntime, which is not installed", "pip install 'archdsl[onnx]'"
                ) from None

    def options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"engine": self.engine, "clock": self.clock}
        if self.opset:
            opts["opset"] = self.opset
        if self.engine == "torch":
            opts["deploy"] = self.deploy
        return opts

    def prepare(self, graph: Graph, settings: BenchSettings, workdir: Path) -> Prepared:
        if self.engine == "onnxruntime":
            return Prepared(graph, onnx_file(graph, workdir, settings.seed, self.opset, settings.quantize))
        if settings.quantize:
            raise OptionError(
                f"--quantize {settings.quantize} runs the ONNX backend's int8 model; engine=torch has none",
                "leave -O engine=torch out (onnxruntime runs the int8 model)",
            )
        from archdsl import backend as hook

        module = hook.load("torch").build_module(graph, seed=settings.seed, deploy=self.deploy)
        return Prepared(graph, None, {"module": module})

    def run(self, prepared: Prepared, settings: BenchSettings, progress=None) -> Measurement:
        threads = settings.threads or self.default_threads
        if threads > (os.cpu_count() or 1):
            raise OptionError(
                f"this machine has {os.cpu_count()} CPUs; --threads {threads} would oversubscribe it",
                f"use --threads 1..{os.cpu_count()}",
            )
        if self.engine == "onnxruntime":
            from . import runner

            try:
                res = runner.measure(
                    str(prepared.path), settings.warmup, settings.runs, threads, settings.batch, settings.seed, progress
                )
            except runner.RunnerError as exc:
                raise TargetError(str(exc), "check the spec with --target a72, or run with fewer --batch") from None
            env = {"device": "host", **res["env"], "clock": self.clock}
            return pick_clock(res, self.clock, threads, env)
        return self._run_torch(prepared, settings, threads, progress)

    def _run_torch(self, prepared: Prepared, settings: BenchSettings, threads: int, progress) -> Measurement:
        import platform

        import torch

        from .runner import environment

        torch.set_num_threads(threads)
        module = prepared.data["module"].eval()
        shape = prepared.graph.inputs[0].type.shape
        gen = torch.Generator().manual_seed(settings.seed)
        x = torch.randn(settings.batch, *shape, generator=gen)
        timings, cpu_timings = [], []
        with torch.inference_mode():
            for _ in range(settings.warmup):
                module(x)
            for i in range(settings.runs):
                c0 = time.process_time()
                t0 = time.perf_counter()
                module(x)
                timings.append(time.perf_counter() - t0)
                cpu_timings.append(time.process_time() - c0)
                if progress:
                    progress(i + 1, settings.runs)
        env = {"device": "host", **environment(), "runtime": "torch", "torch": torch.__version__}
        env["python"] = platform.python_version()
        env["clock"] = self.clock
        return pick_clock({"timings_s": timings, "cpu_timings_s": cpu_timings}, self.clock, threads, env)

    def close(self) -> None:
        pass


def pick_clock(res: dict[str, Any], clock: str, threads: int, env: dict[str, Any]) -> Measurement:
    """The runner's wall and CPU timings as a Measurement timed by ``clock`` (the other in details)."""
    wall, cpu = res["timings_s"], res.get("cpu_timings_s") or []
    if clock == "cpu":
        if not cpu:
            raise TargetError("the runner reported no CPU times (an old runner?)", "use -O clock=wall")
        return Measurement(list(cpu), env, threads, details={"wall_timings_s": wall})
    return Measurement(list(wall), env, threads, details={"cpu_timings_s": cpu} if cpu else {})


def host_target(options: dict[str, Any]) -> HostTarget:
    return HostTarget(options)
