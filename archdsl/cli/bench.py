"""``archdsl bench``: latency and throughput of specs on a target; ``archdsl bench calibrate``.

``archdsl bench SPEC...`` is short for ``archdsl bench run SPEC...``. The targets (host, ssh, a72,
model, and any a third party registers under ``archdsl.targets``) live in
``archdsl.bench``, the latency model in ``archdsl.analysis.latency``; nothing of them, onnxruntime
or rich is imported until a command runs.
See docs/bench.md.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import typer

from archdsl.cli import app
from archdsl.cli.common import EXIT_SPEC, EXIT_TOOL, EXIT_USAGE, fail_tool, human, load_or_exit, parse_overrides
from archdsl.cli.lazy import default_run_group

INSTALL_HINT = "pip install 'archdsl[bench]'"
MAX_RUNS = 100_000
MAX_BATCH = 4096
MAX_THREADS = 4096
MAX_STORE_TIMEOUT = 86_400.0


def fail(message: str, hint: str | None = None, code: int = EXIT_TOOL) -> typer.Exit:
    """Print ``archdsl: error: ...`` (and ``= help:``) and return the Exit to raise."""
    exit_ = fail_tool(message, hint)
    exit_.exit_code = code
    return exit_


def target_failure(exc) -> typer.Exit:
    """A TargetError as an exit: 2 for a bad option (OptionError), 3 for a failure of the target."""
    from archdsl.bench.target import OptionError

    code = getattr(exc, "code", None)  # the emulator's B41x errors carry their code
    if code:
        sys.stderr.write(f"archdsl: error[{code}]: {exc.message}\n")
        if exc.hint:
            sys.stderr.write(f"  = help: {exc.hint}\n")
        return typer.Exit(EXIT_USAGE if isinstance(exc, OptionError) else EXIT_TOOL)
    return fail(exc.message, exc.hint, EXIT_USAGE if isinstance(exc, OptionError) else EXIT_TOOL)


bench_app = default_run_group(
    "Measure or estimate latency and throughput of specs on a target.\n\n"
    "`archdsl bench SPEC... --target NAME` is short for `archdsl bench run SPEC... --target NAME`."
)
app.add_typer(bench_app, name="bench")

RUN_EPILOG = """Examples:

\b
  archdsl bench specs/attendnext.arch specs/baselines/*.arch --target a72 --baseline fbnetc_100
  archdsl bench specs/attendnext.arch specs/baselines/*.arch --target host --baseline fbnetc_100
  archdsl bench specs/attendnext.arch --target ssh -O host=pi@raspberrypi.local \\
      -O known_hosts=pi_known_hosts -O remote_python=/home/pi/venv/bin/python --threads 4
  archdsl bench specs/attendnext.arch --target model -O calibration=.archdsl/calibration-host.json

Targets: host (onnxruntime on this machine; -O engine=torch, -O clock=cpu), ssh (a device over
OpenSSH), a72 (analytical Cortex-A72 model: an ESTIMATE), model (the same model calibrated by
`archdsl bench calibrate`). `archdsl bench targets` lists the installed ones.

Every run is stored in the results store (default .archdsl/results.sqlite; --store, --no-store);
`archdsl report` draws the paper's figures from it.

Exit codes: 0 done; 1 a spec has errors, or an op the target cannot handle (the a72/model targets:
an op without a cost); 2 bad option (including -O values); 3 the target failed
(device unreachable, onnxruntime missing, ...) or the results could not be stored (they are
printed, and kept in a JSON file beside the store).
"""


def _progress_bar(enabled: bool):
    """A rich progress bar on stderr (only on a terminal), as a SpecProgress callback + closer."""
    if not enabled:
        return None, lambda: None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    progress.start()
    task = progress.add_task("bench", total=None)

    def update(i: int, n: int, done: int, total: int, net: str) -> None:
        progress.update(task, total=n * total, completed=i * total + done, description=f"{net} ({i + 1}/{n})")

    return update, progress.stop


def _settings(warmup: int, runs: int, threads: int | None, batch: int, seed: int, quantize: str | None = None):
    from archdsl.bench.target import BenchSettings

    if quantize in ("fp32", "none"):
        quantize = None
    if quantize not in (None, "int8"):
        raise fail(
            f"--quantize: unknown precision '{quantize[:40]}'", "--quantize int8 (or leave it out for fp32)", EXIT_USAGE
        )
    return BenchSettings(warmup=warmup, runs=runs, threads=threads, batch=batch, seed=seed, quantize=quantize)


def _load_target(name: str, options: list[str] | None):
    from archdsl.bench.target import TargetError, load

    try:
        return load(name, parse_overrides(options))
    except TargetError as exc:
        raise target_failure(exc) from None


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def format_results(results, target, baseline, settings_line: str) -> str:
    emulated = bool(getattr(target, "emulated", False))
    unit = "emul. ms" if emulated else "ms"
    header = ["spec", "params", "GMACs", f"median {unit}", f"p90 {unit}", f"p99 {unit}", f"std {unit}"]
    header.append("emul. img/s" if emulated else "img/s")
    if emulated:
        header.append("max |diff| vs host")
    if baseline is not None:
        header.append(f"vs {baseline.net}")
    rows = []
    for r in results:
        s = r.summary
        single = r.measurement.estimate and s.runs == 1  # a model's one value: no spread to show
        row = [
            r.net,
            human(r.graph.total_params),
            f"{r.graph.total_macs / 1e9:.3f}",
            _ms(s.median_s),
            "-" if single else _ms(s.p90_s),
            "-" if single else _ms(s.p99_s),
            "-" if single else _ms(s.std_s),
            f"{s.throughput:.1f}",
        ]
        if emulated:
            diff = r.measurement.details.get("max_abs_diff")
            row.append("-" if diff is None else f"{diff:.2e}")
        if baseline is not None:
            row.append(f"{r.relative:.2f}x")
        rows.append(row)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]

    def fmt(row):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    lines = []
    if target.estimate:
        lines.append(f"target {target.name}: {target.summary}")
    else:
        env = results[0].measurement.env if results else {}
        where = env.get("cpu") or env.get("device") or ""
        verb = "emulated on" if emulated else "measured on"
        lines.append(f"target {target.name}: {verb} {env.get('device', target.name)} ({where})")
    lines.append(settings_line)
    lines += [fmt(header), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in rows]
    if baseline is not None:
        lines.append(f"throughput relative to {baseline.net} (= 1x), as in Figure 3a of the AttendNeXt paper")
    if target.estimate:
        lines.append("ESTIMATE: these numbers come from an analytical model, not from a device")
    if emulated:
        lines.append(
            "EMULATION TIME: wall time under QEMU (aarch64 onnxruntime on this host), not a latency; "
            "max |diff|: largest output difference from this machine's onnxruntime on the same input"
        )
    return "\n".join(lines)


def results_json(session, results, target, baseline, settings, store_path) -> dict:
    return {
        "session": session,
        "target": target.name,
        "estimate": bool(target.estimate),
        "label": target.summary,
        "timing": "emulation" if getattr(target, "emulated", False) else ("estimate" if target.estimate else "latency"),
        "settings": {**settings.as_dict(), "threads": results[0].measurement.threads if results else settings.threads},
        "options": target.options(),
        "baseline": baseline.net if baseline is not None else None,
        "store": str(store_path) if store_path else None,
        "results": [
            {
                "net": r.net,
                "spec": str(r.spec),
                "spec_hash": r.spec_hash,
                "estimate": bool(r.measurement.estimate),
                "threads": r.measurement.threads,
                "params": r.graph.total_params,
                "macs": r.graph.total_macs,
                "runs": r.summary.runs,
                "median_ms": r.summary.median_s * 1e3,
                "p90_ms": r.summary.p90_s * 1e3,
                "p99_ms": r.summary.p99_s * 1e3,
                "std_ms": r.summary.std_s * 1e3,
                "mean_ms": r.summary.mean_s * 1e3,
                "min_ms": r.summary.min_s * 1e3,
                "throughput": r.summary.throughput,
                "relative_throughput": r.relative,
                "row_id": r.row_id,
                "env": r.measurement.env,
                "details": r.measurement.details,
            }
            for r in results
        ],
    }


@bench_app.command(name="run", epilog=RUN_EPILOG)
def run(
    specs: list[Path] = typer.Argument(..., help="Spec files to benchmark.", show_default=False),
    target_name: str = typer.Option("host", "--target", "-t", help="Target: host, ssh, a72, model, ..."),
    baseline: str = typer.Option(
        None, "--baseline", "-B", help="Net name, file stem or spec path whose throughput is 1x."
    ),
    threads: int = typer.Option(
        None, "--threads", "-j", min=1, max=MAX_THREADS, help="Threads (default: the target's)."
    ),
    warmup: int = typer.Option(10, "--warmup", min=0, max=MAX_RUNS, help="Untimed runs first."),
    runs: int = typer.Option(50, "--runs", min=1, max=MAX_RUNS, help="Timed runs."),
    batch: int = typer.Option(1, "--batch", min=1, max=MAX_BATCH, help="Batch size."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Seed of the weights and the input."),
    option: list[str] = typer.Option(None, "--option", "-O", help="Target option KEY=VALUE (repeatable)."),
    param: list[str] = typer.Option(None, "--param", "-p", help="Net parameter NAME=VALUE for every spec."),
    input_size: int = typer.Option(None, "--input-size", min=1, help="Override the input height and width."),
    fmt: str = typer.Option("table", "--format", "-f", help="Output: table or json."),
    store_path: Path = typer.Option(None, "--store", help="Results store (default .archdsl/results.sqlite)."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not record the results."),
    store_timeout: float = typer.Option(
        60.0, "--store-timeout", help="Seconds to wait for a store another process holds locked."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    quantize: str = typer.Option(None, "--quantize", help="int8: the statically quantised model (default fp32)."),
) -> None:
    """Benchmark specs on a target: median, p90, p99, std, throughput, and relative to a baseline."""
    if fmt not in ("table", "json"):
        raise typer.BadParameter(f"unknown format '{fmt}' (table, json)", param_hint="--format")
    if not (math.isfinite(store_timeout) and 0 <= store_timeout <= MAX_STORE_TIMEOUT):
        raise typer.BadParameter(f"must be between 0 and {MAX_STORE_TIMEOUT:g} s", param_hint="--store-timeout")
    from archdsl.bench.session import Unsaved, find_baseline, run_bench, save_unsaved, set_relative
    from archdsl.bench.store import DEFAULT_PATH, Store, StoreError
    from archdsl.bench.target import TargetError
    from archdsl.fileio import check_output

    paths = list(specs)
    base_file = baseline and baseline.endswith(".arch") and Path(baseline).is_file()
    if base_file and not any(p.resolve() == Path(baseline).resolve() for p in paths):
        paths.append(Path(baseline))
    specs_loaded = [(p, load_or_exit(p, None, param, input_size)) for p in paths]
    loaded = [(p, spec.graph) for p, spec in specs_loaded]
    _note_inputs(paths)
    names = [g.name for _, g in loaded]
    if baseline and not any(baseline in (g.name, p.stem, str(p)) for p, g in loaded) and not Path(baseline).is_file():
        sys.stderr.write(
            f"archdsl: error: baseline '{baseline}' is not one of the specs ({', '.join(names)})\n"
            "  = help: pass a net name or file stem from the list, or a spec path\n"
        )
        raise typer.Exit(EXIT_USAGE)
    target = _load_target(target_name, option)
    _exit_if_unsupported(getattr(target, "unsupported", None), specs_loaded, target.close)
    settings = _settings(warmup, runs, threads, batch, seed, quantize)
    store = None
    where = Path(store_path or DEFAULT_PATH)
    if not no_store:
        check_output(where)  # never a spec read as input (OutputError: exit 2)
        try:
            store = Store(where, timeout_s=store_timeout)
        except StoreError as exc:
            target.close()
            raise fail(exc.message, exc.hint, EXIT_USAGE if exc.usage else EXIT_TOOL) from None
    show_bar = not quiet and sys.stderr.isatty()
    update, stop = _progress_bar(show_bar)
    unsaved = Unsaved()
    session = None
    try:
        session, results = run_bench(loaded, target, settings, store, update, unsaved=unsaved)
    except TargetError as exc:
        stop()
        _report_cleanup(target)
        _keep_unsaved(unsaved, where, save_unsaved)
        raise target_failure(exc) from None
    except KeyboardInterrupt:
        stop()
        _keep_unsaved(unsaved, where, save_unsaved)
        raise
    finally:
        stop()
        if store is not None:
            store.close()
    _report_cleanup(target)
    base = find_baseline(results, baseline) if baseline else None
    if base is not None:
        set_relative(results, base)
    threads_used = sorted({r.measurement.threads for r in results})
    if target.estimate:
        settings_line = f"threads {','.join(map(str, threads_used))}, batch {batch}; one model evaluation per spec"
    else:
        settings_line = f"threads {','.join(map(str, threads_used))}, batch {batch}, warm-up {warmup}, runs {runs}"
    if settings.quantize:
        settings_line += f"; {settings.quantize} models (--quantize {settings.quantize})"
    if fmt == "json":
        data = results_json(session, results, target, base, settings, None if no_store else where)
        typer.echo(json.dumps(data, indent=2, default=str))
    else:
        typer.echo(format_results(results, target, base, settings_line))
    if unsaved.rows:  # the measurements are printed above; keep them in a file too, then fail
        kept = _keep_unsaved(unsaved, where, save_unsaved)
        raise fail(unsaved.error.message, _kept_hint(kept, unsaved, where)) from None
    if not no_store:
        sys.stderr.write(f"stored {len(results)} result(s) in {where} (session {session})\n")


def _exit_if_unsupported(check, specs_loaded, close=lambda: None) -> None:
    """Print the located diagnostics of every spec ``check(graph)`` refuses and exit 1 (before any run).

    ``check`` is a target's optional ``unsupported`` (the model targets: ops the latency model
    cannot cost); None checks nothing.
    """
    if check is None:
        return
    from archdsl.cli.common import print_diagnostics

    found = [(spec, diags) for _, spec in specs_loaded if (diags := check(spec.graph))]
    if not found:
        return
    close()
    for spec, diags in found:
        print_diagnostics(diags, spec.sources)
    raise typer.Exit(EXIT_SPEC)


def _keep_unsaved(unsaved, where: Path, save) -> Path | None:
    """Write the rows the store did not take to a JSON file (once); returns it (None if impossible)."""
    if not unsaved.rows:
        return None
    if unsaved.kept is None:
        session = unsaved.rows[0].get("session", "unknown")
        unsaved.kept = save(unsaved, where, session)
        if unsaved.kept is not None:
            sys.stderr.write(f"kept {len(unsaved.rows)} result(s) that were not stored in {unsaved.kept}\n")
    return unsaved.kept


def _kept_hint(kept: Path | None, unsaved, where: Path) -> str:
    n = len(unsaved.rows)
    if kept is None:
        return f"{n} result(s) were printed above but could not be kept in a file either"
    hint = unsaved.error.hint + "; " if unsaved.error and unsaved.error.hint else ""
    return f"{hint}{n} result(s) not stored in {where} are kept in {kept}"


def _report_cleanup(target) -> None:
    msg = getattr(target, "cleanup_error", None)
    if msg:
        sys.stderr.write(f"archdsl: warning: {msg}\n")


def _note_inputs(paths) -> None:
    """The specs are inputs of this run: no store, calibration or other artefact may replace them."""
    from archdsl.fileio import note_input

    for p in paths:
        note_input(p)


def _check_writable(path: Path) -> None:
    """Refuse an output that cannot be written, before the work: an input (exit 2), a folder (2),
    a folder where no file can be made (3: tried for real, permissions alone do not tell root)."""
    import os
    import tempfile

    from archdsl.fileio import check_output

    check_output(path)
    if path.is_dir():
        raise fail(f"{path} is a directory", "pass the file to write, e.g. -o calibration.json", EXIT_USAGE)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        where = exc.filename or path.parent
        raise fail(f"cannot write {path}: {where}: {exc.strerror or exc}", "choose another path with -o") from None


def _write(path: Path, text: str) -> None:
    """Write an artefact atomically (archdsl.fileio.atomic_write); a failure is a clear exit 3."""
    from archdsl.fileio import atomic_write

    try:
        atomic_write(path, text)
    except OSError as exc:
        raise fail(f"cannot write {path}: {exc.strerror or exc}", "check that the folder is writable") from None


# the set-up commands (targets, setup-emulator, calibrate) register on bench_app in their own module
from archdsl.cli import bench_setup  # noqa: E402, F401
