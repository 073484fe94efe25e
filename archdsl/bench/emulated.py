"""The ``emulated-a72`` target: our ONNX graphs on onnxruntime's real aarch64 kernels, under QEMU.

A *functional* check, not a timing: the same :mod:`.runner` the ``ssh`` target ships to a Raspberry
Pi runs with the aarch64 build of onnxruntime in the sysroot of ``archdsl bench setup-emulator``
(:mod:`.emulator`), under ``qemu-aarch64-static -cpu cortex-a72`` with a Cortex-A72
``/proc/cpuinfo`` bind-mounted in a private mount namespace. Per spec it reports:

- that the model loads and runs (``env.loaded``), the execution providers and the kernels that ran
  (``env.providers``, ``details.kernels``: op type / provider, from onnxruntime's profiler);
- the largest absolute difference of its outputs from this machine's onnxruntime on the same
  input (``details.max_abs_diff``, with ``details.max_abs_output`` for scale);
- its wall time per inference, which is **emulation time** (QEMU translating every aarch64
  instruction on an x86 host), *never* a latency: the table's columns say "emulation ms", the
  JSON and the store keep ``env.timing = "emulation"``, ``archdsl report`` titles say so.

Instructions per inference are not reported: that needs a QEMU TCG plugin (``libinsn.so``), and
Debian's ``qemu-user-static`` is a static build without plugin support (``-plugin`` is an unknown
option) while no Debian package ships the plugins; ``details.instructions`` says so.

Options (``-O``): ``dir`` (the emulator folder, default ``~/.cache/archdsl/emulator/<key>``),
``run_timeout`` (seconds per spec, default 900), ``clock`` (``wall``/``cpu``), ``opset``.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from archdsl.ir import Graph

from . import bounded, emulator
from .artefact import onnx_file
from .host import pick_clock
from .ssh import OUTPUT_LIMIT, _clean_env, _parse_json_line, check_result
from .target import BenchSettings, Measurement, OptionError, Prepared, TargetError, check_options, number

TIMING = "emulation"
TIMING_LABEL = "EMULATION TIME under QEMU (aarch64 onnxruntime on an x86 host): not a latency"
NO_INSTRUCTIONS = (
    "not counted: needs a QEMU TCG plugin (libinsn.so); Debian's qemu-user-static is built without plugin "
    "support (-plugin is an unknown option) and no Debian package ships the plugins"
)


class EmulatedA72Target:
    name = "emulated-a72"
    summary = "aarch64 onnxruntime under QEMU (-cpu cortex-a72): a functional check; times are emulation time"
    estimate = False
    emulated = True
    """the timings are emulation time, not a latency (outputs label them so)"""
    default_threads = 1

    def __init__(self, options: dict[str, Any]):
        opts = check_options(self.name, options, {"dir": str, "run_timeout": (int, float), "clock": str, "opset": int})
        self.dir = Path(opts["dir"]).expanduser() if opts.get("dir") else emulator.default_dir()
        self.run_timeout = float(
            number(self.name, "run_timeout", opts.get("run_timeout", 900), 0, 86400, low_open=True)
        )
        self.clock = opts.get("clock", "wall")
        if self.clock not in ("wall", "cpu"):
            raise OptionError(
                f"clock must be 'wall' or 'cpu', not {self.clock[:40]!r}", "-O clock=wall or -O clock=cpu"
            )
        self.opset = opts.get("opset")
        if self.opset is not None:
            number(self.name, "opset", self.opset, 1, 1000)
        self.tools = emulator.require_tools()
        self.sysroot = emulator.load(self.dir)
        self._tmp = tempfile.TemporaryDirectory(prefix="archdsl-emulated.")

    def options(self) -> dict[str, Any]:
        return {"dir": str(self.dir), "clock": self.clock, "opset": self.opset, "pins": emulator.pins_key()}

    def command(self, model: Path, settings: BenchSettings, threads: int, save_io: Path) -> list[str]:
        """The argv running the runner on ``model`` under emulation (no shell but the mount wrapper)."""
        runner = Path(__file__).with_name("runner.py")
        args = [str(runner), str(model), "--warmup", str(settings.warmup), "--runs", str(settings.runs)]
        args += ["--threads", str(threads), "--batch", str(settings.batch), "--seed", str(settings.seed)]
        args += ["--save-io", str(save_io), "--kernels"]
        return emulator.emulate_argv(self.sysroot, args, self.tools)

    def prepare(self, graph: Graph, settings: BenchSettings, workdir: Path) -> Prepared:
        return Prepared(graph, onnx_file(graph, workdir, settings.seed, self.opset, settings.quantize))

    def run(self, prepared: Prepared, settings: BenchSettings, progress=None) -> Measurement:
        threads = settings.threads or self.default_threads
        assert prepared.path is not None
        io = Path(self._tmp.name) / f"{prepared.path.stem}.io.npz"
        argv = self.command(prepared.path, settings, threads, io)
        proc = bounded.call(argv, self.run_timeout, OUTPUT_LIMIT, env=emulator.environment())
        net = prepared.graph.name
        if proc.timed_out:
            raise TargetError(
                f"running {net} under emulation timed out after {self.run_timeout:g} s",
                "use --warmup 0 --runs 1 (one inference takes seconds under QEMU), or raise -O run_timeout",
            )
        result = _parse_json_line(proc.stdout)
        if result is None or proc.returncode != 0 or "error" in result:
            said = bounded.printable(str(result.get("error")) if result else (proc.stderr or proc.stdout)[-800:], 1000)
            status = proc.returncode
            hint = "a crash (status -11/139) in onnxruntime's CPU detection means /proc/cpuinfo was not replaced"
            raise TargetError(f"the emulated runner failed on {net} (exit status {status}): {said}", hint)
        problem = check_result(result, settings.runs, self.clock)
        if problem:
            raise TargetError(f"the emulated runner printed a malformed result: {problem}")
        if progress:
            progress(settings.runs, settings.runs)
        details = compare(prepared.path, io, threads)
        kernels = result.get("kernels")
        details["kernels"] = (
            [bounded.printable(str(k), 100) for k in kernels[:500]] if isinstance(kernels, list) else []
        )
        details["instructions"] = NO_INSTRUCTIONS
        details["timing_label"] = TIMING_LABEL
        env = {"device": "emulated-a72 (qemu-aarch64-static -cpu cortex-a72)", **_clean_env(result["env"])}
        env.update({"timing": TIMING, "timing_label": TIMING_LABEL, "loaded": True, "clock": self.clock})
        env["qemu"] = self.tools[emulator.QEMU]
        meas = pick_clock(result, self.clock, int(result.get("threads", threads)), env)
        meas.details.update(details)
        return meas

    def close(self) -> None:
        self._tmp.cleanup()


def compare(model: Path, io: Path, threads: int = 1) -> dict[str, Any]:
    """Run this machine's onnxruntime on the inputs the emulated runner saved; max |difference| of outputs."""
    import numpy as np
    import onnxruntime as ort

    try:
        with np.load(io, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise TargetError(f"the emulated runner's outputs cannot be read: {exc}") from None
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    sess = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
    feeds = {k[3:]: v for k, v in arrays.items() if k.startswith("in.")}
    names = [o.name for o in sess.get_outputs()]
    host = dict(zip(names, sess.run(None, feeds), strict=True))
    diff, scale = 0.0, 0.0
    for name in names:
        emu = arrays.get("out." + name)
        if emu is None or emu.shape != host[name].shape:
            raise TargetError(f"the emulated output {name} is missing or has another shape")
        d = float(np.max(np.abs(emu.astype(np.float64) - host[name].astype(np.float64)))) if emu.size else 0.0
        diff = max(diff, d if math.isfinite(d) else math.inf)
        scale = max(scale, float(np.max(np.abs(host[name]))) if host[name].size else 0.0)
    return {"max_abs_diff": diff, "max_abs_output": scale, "host_onnxruntime": ort.__version__, "outputs": names}


def emulated_a72_target(options: dict[str, Any]) -> EmulatedA72Target:
    return EmulatedA72Target(options)
