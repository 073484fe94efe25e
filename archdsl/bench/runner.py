"""Time an ONNX model with onnxruntime and print the raw timings as JSON (one line on stdout).

This file is shipped to devices by the ``ssh`` target and run there with the device's Python,
so it imports nothing of archdsl: only the standard library, numpy and onnxruntime, and it runs
on Python 3.7+. The ``host`` target imports :func:`measure` from it directly.

    python3 runner.py model.onnx --warmup 10 --runs 50 --threads 4 --batch 1

Output: ``{"timings_s": [...], "cpu_timings_s": [...], "env": {...}, "threads": N}``: wall-clock
seconds per run, and the process CPU seconds per run (all threads together; with one thread it
equals the wall time unless other processes take the CPU away). On failure the JSON line is
``{"error": "...", "kind": "..."}`` and the exit status is 3 (``kind`` is ``missing_onnxruntime``
when onnxruntime cannot be imported, ``bad_arguments``, ``model`` or ``runtime`` otherwise).

Two options let the ``ssh`` target stop a runner it no longer waits for (after ``run_timeout``,
Ctrl-C, or the death of the archdsl process), so that none is left running on the device:

- ``--pgid-file FILE``: write this process's group id there at start (removed at a normal exit);
  the target kills that group with a separate ssh command, then removes the folder;
- ``--stop-on-eof``: a thread waits on stdin, which the target keeps open; end-of-file means the
  ssh connection is gone, and the runner kills its own process group (the ssh session's: the
  runner and any wrapper around it). With ``--cleanup-dir DIR`` it first removes ``DIR``, its
  own temporary folder (only a folder named ``archdsl-bench.*``).
"""

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import stat
import sys
import threading
import time

EXIT_MISSING = 3


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def environment():
    """Facts about this machine that matter for a timing: CPU, OS, clocks, temperature, versions."""
    env = {
        "node": platform.node(),
        "machine": platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    cpuinfo = _read("/proc/cpuinfo") or ""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "model", "cpu part") and value.strip():
            env.setdefault("cpu_" + key.replace(" ", "_"), value.strip())
    if "cpu_model_name" in env:
        env["cpu"] = env["cpu_model_name"]
    elif "cpu_model" in env:
        env["cpu"] = env["cpu_model"]
    else:
        env["cpu"] = platform.processor() or platform.machine()
    gov = _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    if gov:
        env["cpufreq_governor"] = gov.strip()
    freq = _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq")
    if freq and freq.strip().isdigit():
        env["cpu_mhz"] = int(freq.strip()) // 1000
    temp = _read("/sys/class/thermal/thermal_zone0/temp")
    if temp and temp.strip().lstrip("-").isdigit():
        env["temperature_c"] = int(temp.strip()) / 1000.0
    throttled = _read("/sys/devices/platform/soc/soc:firmware/get_throttled")
    if throttled:
        env["throttled"] = throttled.strip()
    return env


class RunnerError(Exception):
    def __init__(self, message, kind):
        Exception.__init__(self, message)
        self.kind = kind


def measure(
    model, warmup=10, runs=50, threads=1, batch=1, seed=0, progress=None, profile=None, save_io=None, kernels=False
):
    """Time ``runs`` inferences after ``warmup`` ones; returns the result dictionary.

    ``model`` is a path or the serialised bytes. ``profile``: a file prefix to enable
    onnxruntime's profiler; the profile path is returned as ``profile``. ``save_io``: a path
    where the inputs and the last run's outputs are written (``numpy.savez``: ``in.NAME``,
    ``out.NAME``), so that another runtime can be compared on the same input. ``kernels``: list
    the kernels that ran (op type and execution provider, from onnxruntime's profiler) as
    ``kernels`` in the result.
    """
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as exc:
        raise RunnerError(
            "cannot import {} with {} ({})".format(getattr(exc, "name", None) or "onnxruntime", sys.executable, exc),
            "missing_onnxruntime",
        ) from None
    if warmup < 0 or runs < 1 or threads < 1 or batch < 1:
        raise RunnerError("warmup >= 0, runs >= 1, threads >= 1 and batch >= 1 are required", "bad_arguments")
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    own_profile = bool(kernels and not profile)
    if own_profile:
        import tempfile

        profile = os.path.join(tempfile.mkdtemp(prefix="archdsl-kernels."), "profile")
    if profile:
        so.enable_profiling = True
        so.profile_file_prefix = profile
    try:
        sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise RunnerError(f"onnxruntime cannot load the model: {exc}", "model") from None
    try:
        rng = np.random.default_rng(seed)
        feeds = {}
        for inp in sess.get_inputs():
            shape = [d if isinstance(d, int) and d > 0 else batch for d in inp.shape]
            if shape:
                shape[0] = batch
            feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
    except (MemoryError, ValueError) as exc:
        raise RunnerError(f"cannot make the input (batch {batch}): {type(exc).__name__}: {exc}", "runtime") from None
    try:
        for _ in range(warmup):
            sess.run(None, feeds)
        timings = []
        cpu_timings = []
        clock, cpu = time.perf_counter, time.process_time
        for i in range(runs):
            c0 = cpu()
            t0 = clock()
            outputs = sess.run(None, feeds)
            t1 = clock()
            cpu_timings.append(cpu() - c0)
            timings.append(t1 - t0)
            if progress:
                progress(i + 1, runs)
    except Exception as exc:
        raise RunnerError(f"inference failed: {exc}", "runtime") from None
    env = environment()
    env.update(
        {
            "runtime": "onnxruntime",
            "onnxruntime": ort.__version__,
            "numpy": np.__version__,
            "providers": sess.get_providers(),
            "intra_op_threads": threads,
        }
    )
    out = {"timings_s": timings, "cpu_timings_s": cpu_timings, "env": env, "threads": threads, "batch": batch}
    if save_io:
        arrays = {"in." + k: v for k, v in feeds.items()}
        arrays.update({"out." + o.name: np.asarray(v) for o, v in zip(sess.get_outputs(), outputs)})  # noqa: B905 (the runner runs on Python 3.7+)
        with open(save_io, "wb") as f:
            np.savez(f, **arrays)
        out["save_io"] = save_io
    if profile:
        out["profile"] = sess.end_profiling()
    if kernels:
        out["kernels"] = _kernels(out.pop("profile") if own_profile else out["profile"], remove=own_profile)
    return out


def _kernels(path, remove=False):
    """Sorted ``"OpType/Provider"`` names of the nodes an onnxruntime profile shows (and remove it)."""
    try:
        with open(path) as f:
            events = json.load(f)
    except (OSError, ValueError):
        return []
    finally:
        if remove:
            shutil.rmtree(os.path.dirname(path), ignore_errors=True)
    names = set()
    for ev in events if isinstance(events, list) else []:
        args = ev.get("args") if isinstance(ev, dict) else None
        if isinstance(args, dict) and ev.get("cat") == "Node" and args.get("op_name"):
            names.add("{}/{}".format(args["op_name"], args.get("provider", "?")))
    return sorted(names)


def _write_pgid(path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(os.getpgid(0)) + "\n")
    os.replace(tmp, path)


def _stop_group(cleanup_dir):
    """The connection is gone: remove our folder, then end our process group (this process too)."""
    if cleanup_dir and os.path.basename(os.path.normpath(cleanup_dir)).startswith("archdsl-bench."):
        shutil.rmtree(cleanup_dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        os.killpg(os.getpgid(0), signal.SIGTERM)
    os._exit(143)


def _watch_stdin(cleanup_dir):
    """Stop the process group when stdin reaches end-of-file (only if stdin is a pipe or socket)."""
    try:
        mode = os.fstat(0).st_mode
    except OSError:
        return
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)):
        return

    def wait():
        while True:
            try:
                data = os.read(0, 4096)
            except InterruptedError:
                continue
            except OSError:
                data = b""
            if not data:
                _stop_group(cleanup_dir)
                return

    threading.Thread(target=wait, name="stop-on-eof", daemon=True).start()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Time an ONNX model with onnxruntime; print JSON.")
    ap.add_argument("model")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pgid-file", default=None)
    ap.add_argument("--stop-on-eof", action="store_true")
    ap.add_argument("--cleanup-dir", default=None)
    ap.add_argument("--save-io", default=None, help="write the input and the outputs here (numpy .npz)")
    ap.add_argument("--kernels", action="store_true", help="list the kernels that ran (op/provider)")
    args = ap.parse_args(argv)
    if args.stop_on_eof:
        _watch_stdin(args.cleanup_dir)
    if args.pgid_file:
        _write_pgid(args.pgid_file)
    try:
        result = measure(
            args.model,
            args.warmup,
            args.runs,
            args.threads,
            args.batch,
            args.seed,
            None,
            None,
            args.save_io,
            args.kernels,
        )
    except RunnerError as exc:
        result = {"error": str(exc), "kind": exc.kind}
    finally:
        if args.pgid_file:
            with contextlib.suppress(OSError):
                os.unlink(args.pgid_file)
    sys.stdout.write(json.dumps(result) + "\n")
    return EXIT_MISSING if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
