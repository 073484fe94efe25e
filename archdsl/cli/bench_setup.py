"""``archdsl bench targets``, ``bench setup-emulator`` and ``bench calibrate``: the commands that
prepare benchmarking rather than run it (``archdsl bench run`` is :mod:`archdsl.cli.bench`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from archdsl.cli.bench import (
    INSTALL_HINT,
    MAX_RUNS,
    MAX_THREADS,
    _check_writable,
    _exit_if_unsupported,
    _note_inputs,
    _progress_bar,
    _write,
    bench_app,
    target_failure,
)
from archdsl.cli.common import fail_tool, load_or_exit


@bench_app.command(name="targets")
def targets() -> None:
    """List the installed targets (entry-point group archdsl.targets)."""
    from archdsl.bench.target import available

    for name, ep in sorted(available().items()):
        typer.echo(f"{name:8} {ep.value}")


SETUP_EPILOG = """Downloads, once per user and only when you run this command, the pinned aarch64
runtime the emulated-a72 target needs: Debian bookworm's arm64 Python 3.11 packages (apt-get
download through a private apt configuration, unpacked with dpkg-deb -x: nothing is executed)
and the aarch64 wheels of onnxruntime and numpy (pip download), each checked against its pinned
SHA-256. Needs qemu-user-static (apt-get install qemu-user-static) and a mount namespace
(unshare). Folder: ~/.cache/archdsl/emulator/<key>/ (mode 0700, yours alone). archdsl never
downloads weights or data.
"""


@bench_app.command(name="setup-emulator", epilog=SETUP_EPILOG)
def setup_emulator(
    directory: Path = typer.Option(None, "--dir", help="Emulator folder (default ~/.cache/archdsl/emulator/<key>)."),
    force: bool = typer.Option(False, "--force", help="Download and rebuild even if it is set up."),
    verify: bool = typer.Option(False, "--verify", help="Only re-check the SHA-256 of the kept downloads."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
) -> None:
    """Prepare the aarch64 sysroot of the emulated-a72 target (pinned Python 3.11, onnxruntime, numpy)."""
    from archdsl.bench import emulator

    def log(line: str) -> None:
        if not quiet:
            sys.stderr.write(line + "\n")

    try:
        if verify:
            checked = emulator.verify(directory)
            typer.echo(f"verified {len(checked)} files (SHA-256) in {directory or emulator.default_dir()}")
            return
        sysroot = emulator.setup(directory, force=force, log=log)
    except emulator.EmulatorError as exc:
        raise target_failure(exc) from None
    typer.echo(f"emulator ready: {sysroot}")


CALIBRATE_EPILOG = """Examples:

\b
  archdsl bench calibrate --target host -o .archdsl/calibration-host.json
  archdsl bench calibrate --target host specs/attendnext.arch specs/baselines/*.arch --clock cpu
  archdsl bench specs/attendnext.arch --target model -O calibration=.archdsl/calibration-host.json

Runs single-op micro-benchmarks of every op kind with onnxruntime on this machine (20-40 s),
fits the per-op latency model's efficiencies and writes them as JSON. With SPEC arguments it then
validates the model: it measures each spec on this machine, compares with the prediction, and
prints the error per spec and the rank correlation. On a Raspberry Pi, run the same command on
the Pi (see docs/bench.md).
"""


@bench_app.command(name="calibrate", epilog=CALIBRATE_EPILOG)
def calibrate(
    specs: list[Path] = typer.Argument(None, help="Specs to validate the calibrated model on.", show_default=False),
    target_name: str = typer.Option("host", "--target", "-t", help="Where to calibrate (host)."),
    output: Path = typer.Option(
        Path(".archdsl/calibration-host.json"), "--output", "-o", help="Calibration file to write."
    ),
    threads: int = typer.Option(1, "--threads", "-j", min=1, max=MAX_THREADS, help="Threads to calibrate for."),
    warmup: int = typer.Option(3, "--warmup", min=0, max=MAX_RUNS, help="Untimed runs per spec (validation)."),
    runs: int = typer.Option(20, "--runs", min=1, max=MAX_RUNS, help="Timed runs per spec (validation)."),
    clock: str = typer.Option("wall", "--clock", help="Validation clock: wall, or cpu (shared machines)."),
    input_size: int = typer.Option(None, "--input-size", min=1, help="Validate at this input height and width."),
    fmt: str = typer.Option("table", "--format", "-f", help="Output: table or json."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Calibrate the per-op latency model on this machine; optionally validate it on specs."""
    if target_name != "host":
        raise fail_tool(
            f"calibration runs on the host only, not on '{target_name}'",
            "run `archdsl bench calibrate --target host` on the device itself (see docs/bench.md)",
        )
    if fmt not in ("table", "json"):
        raise typer.BadParameter(f"unknown format '{fmt}' (table, json)", param_hint="--format")
    if clock not in ("wall", "cpu"):
        raise typer.BadParameter(f"unknown clock '{clock}' (wall, cpu)", param_hint="--clock")
    import os

    if threads > (os.cpu_count() or 1):
        raise typer.BadParameter(f"this machine has {os.cpu_count()} CPUs", param_hint="--threads")
    specs_loaded = [(p, load_or_exit(p, input_size=input_size)) for p in specs or []]
    loaded = [(p, spec.graph) for p, spec in specs_loaded]
    _note_inputs(specs or [])
    from archdsl.analysis.latency import unsupported

    _exit_if_unsupported(unsupported, specs_loaded)  # an op the model cannot cost: before calibrating
    _check_writable(output)  # before a 30 s calibration, not after it
    from archdsl.bench import calibrate as cal
    from archdsl.bench import validate as val

    show_bar = not quiet and sys.stderr.isatty()
    update, stop = _progress_bar(show_bar)
    try:
        cb = (lambda i, n, what: update(0, 1, i, n, f"calibrating: {what}")) if update else None
        machine = cal.calibrate(threads, cb)
    except ImportError as exc:
        stop()
        raise fail_tool(f"calibration needs {exc.name}, which is not installed", INSTALL_HINT) from None
    finally:
        stop()
    _write(output, machine.to_json() + "\n")
    report = None
    if loaded:
        update, stop = _progress_bar(show_bar)
        try:
            report = val.validate(machine, loaded, threads, warmup, runs, clock, update)
        finally:
            stop()
    if fmt == "json":
        data = {"calibration": str(output), "model": json.loads(machine.to_json()), "validation": report}
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo("\n".join(cal.summary_lines(machine)))
    typer.echo(f"wrote {output}")
    if report:
        typer.echo("")
        typer.echo("\n".join(val.validation_lines(report)))
