"""The hostile-input corpus: cases, how they are found, and how one is run and judged.

A case is either a spec file ``tests/hostile/cases/<area>_<name>.arch`` whose leading comments may
carry directives::

    # hostile: argv = compile {spec} --backend onnx -o {spec}
    # hostile: expect = 2

or a function in ``tests/hostile/gen_<area>.py`` decorated with :func:`case`, which writes the
files it needs (binary weights, a FIFO, a huge file ...) into the case's temporary folder.

``argv`` is the archdsl command line (default ``check {spec}``) with the placeholders ``{spec}``
(the case's spec, copied into a fresh temporary folder), ``{tmp}`` (that folder) and
``{file:NAME}`` (``{tmp}/NAME``). ``expect`` lists the allowed exit codes (default ``1,2,3``).

Every case must end with an allowed exit code, print no Python traceback and no "bug in
archdsl", point at a location (``:LINE:COL:``) or give a ``= help:`` line, finish within
:data:`MAX_SECONDS` of CPU time (so that a loaded machine does not fail a case; a hang is caught
by the wall-clock bound :data:`MAX_WALL_SECONDS`) and stay under :data:`MAX_RSS_MB` of peak memory
(the child's own ``ru_maxrss``, read with ``os.wait4``).

Linux carries a process's peak RSS across ``fork`` and ``exec``: a child started from the pytest
process reports at least pytest's own size. So a case runs either in a child of the fork server
(tests/hostile/forkserver.py: a fresh interpreter that imported archdsl once, :class:`ForkServers`)
or, when it sets environment variables, feeds stdin or asks for it (``fresh``), as a fresh
``python -m archdsl`` under a small launcher (a fresh interpreter that imports nothing) which
starts the command and reports its child's rusage. ``ARCHDSL_HOSTILE_FRESH=1`` runs every case
as a fresh process.
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.hostile.forkserver import ForkServer, ServerDied

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CASES = HERE / "cases"

MAX_SECONDS = 5.0  # of the case's own CPU time (user + system): what it costs, whatever else the machine runs
MAX_WALL_SECONDS = 30.0  # a hang, or work done off the CPU (sleeping, blocking on a FIFO)
MAX_RSS_MB = 500

DIRECTIVE = re.compile(r"^#\s*hostile:\s*(\w+)\s*=\s*(.*?)\s*$")
LOCATED = re.compile(r":\d+:\d+: ")


@dataclass
class Case:
    name: str
    argv: str = "check {spec}"
    expect: tuple[int, ...] = (1, 2, 3)
    spec: Path | None = None
    setup: Callable[[Path], None] | None = None
    stdin: bytes | None = None
    env: dict[str, str] = field(default_factory=dict)
    fresh: bool = False  # run as a fresh process even when no environment variable or stdin asks for it

    @property
    def needs_fresh_process(self) -> bool:
        return self.fresh or bool(self.env) or self.stdin is not None


_GENERATED: list[Case] = []


def case(
    name: str,
    argv: str = "check {spec}",
    expect: str = "1,2,3",
    stdin: bytes | None = None,
    fresh: bool = False,
    **env: str,
):
    """Register a generated case; the decorated function gets the temporary folder to fill.

    Keyword arguments beyond these are environment variables of the case's process; ``fresh``
    runs it as a fresh process (cases with environment variables or stdin always are)."""

    def wrap(fn: Callable[[Path], None]) -> Callable[[Path], None]:
        _GENERATED.append(Case(name, argv, _codes(expect), None, fn, stdin, dict(env), fresh))
        return fn

    return wrap


def _codes(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.replace(" ", "").split(",") if x)


def spec_case(path: Path) -> Case:
    c = Case(path.stem, spec=path)
    with path.open("rb") as fh:
        head = fh.read(4096).decode("utf-8", "replace").splitlines()
    for line in head:
        m = DIRECTIVE.match(line.strip())
        if not m:
            continue
        key, value = m.group(1), m.group(2)
        if key == "argv":
            c.argv = value
        elif key == "expect":
            c.expect = _codes(value)
        elif key == "fresh":
            c.fresh = value.lower() in ("1", "yes", "true")
        else:
            raise ValueError(f"{path.name}: unknown directive '{key}'")
    return c


def all_cases() -> list[Case]:
    cases = [spec_case(p) for p in sorted(CASES.glob("*.arch"))]
    for mod in sorted(HERE.glob("gen_*.py")):
        importlib.import_module(f"tests.hostile.{mod.stem}")
    cases += sorted(_GENERATED, key=lambda c: c.name)
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ValueError(f"duplicate hostile case names: {sorted(dup)}")
    return cases


# Runs argv (sys.argv[2:]) as its child, waits, writes the child's exit status and peak RSS (KiB) to sys.argv[1].
LAUNCHER = """
import os, sys, json
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    json.dump({"status": status, "maxrss": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}, f)
"""


@dataclass
class Outcome:
    returncode: int
    output: str
    seconds: float
    rss_mb: float
    timed_out: bool
    cpu_seconds: float = 0.0
    startup_cpu: float = 0.0  # of cpu_seconds, what the fork server's start-up charged (0 for a fresh process)


def case_env(c: Case) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT), **c.env}
    env.pop("ARCHDSL_DEBUG", None)
    return env


def prepare(c: Case, tmp: Path) -> list[str]:
    """Fill the case's folder ``tmp`` and return its archdsl arguments."""
    spec = ""
    if c.spec is not None:
        dest = tmp / c.spec.name
        shutil.copyfile(c.spec, dest)
        spec = str(dest)
    if c.setup is not None:
        c.setup(tmp)
    text = c.argv.replace("{spec}", spec).replace("{tmp}", str(tmp))
    text = re.sub(r"\{file:([^}]+)\}", lambda m: str(tmp / m.group(1)), text)
    return shlex.split(text)


def run_case(c: Case, tmp: Path, servers: ForkServers | None = None) -> Outcome:
    """Run case ``c`` in the fresh folder ``tmp``: in a child of ``servers`` when it can, else as a fresh process."""
    args = prepare(c, tmp)
    if servers is None or c.needs_fresh_process or os.environ.get("ARCHDSL_HOSTILE_FRESH") == "1":
        return run_fresh(c, tmp, args)
    return servers.run(args, tmp)


def run_fresh(c: Case, tmp: Path, args: list[str]) -> Outcome:
    argv = [sys.executable, "-m", "archdsl", *args]
    env = case_env(c)
    out_path = tmp / ".hostile-output"
    report = tmp / ".hostile-rusage"
    start = time.monotonic()
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-S", "-c", LAUNCHER, str(report), *argv],
            cwd=tmp,
            env=env,
            stdin=subprocess.PIPE if c.stdin is not None else subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if c.stdin is not None:
            try:
                proc.stdin.write(c.stdin)
                proc.stdin.close()
            except BrokenPipeError:
                pass
        timed_out = False
        deadline = start + MAX_WALL_SECONDS
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
    seconds = time.monotonic() - start
    output = out_path.read_bytes().decode("utf-8", "replace")
    if timed_out or not report.exists():
        return Outcome(os.waitstatus_to_exitcode(status), output, seconds, usage.ru_maxrss / 1024, True)
    child = json.loads(report.read_text())
    code = os.waitstatus_to_exitcode(child["status"])
    return Outcome(code, output, seconds, child["maxrss"] / 1024, False, child["cpu"])


def server_kind(args: list[str]) -> str:
    """Which fork server runs a case: "onnx" (the ONNX backend imported) for compile -b onnx, else "base"."""
    if not args or args[0] != "compile":
        return "base"
    for i, a in enumerate(args):
        if a in ("-b", "--backend") and i + 1 < len(args) and args[i + 1] == "onnx":
            return "onnx"
        if a == "--backend=onnx":
            return "onnx"
    return "base"


class ForkServers:
    """Fork servers (tests/hostile/forkserver.py) for cases run from several threads: one per
    thread at a time, started when first needed, a new one after one died. Use as a context."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._idle: dict[str, queue.SimpleQueue[ForkServer]] = {}
        self._all: list[ForkServer] = []
        self._lock = threading.Lock()

    def _take(self, kind: str = "base") -> ForkServer:
        with self._lock:
            idle = self._idle.setdefault(kind, queue.SimpleQueue())
            n = len(self._all)
        try:
            return idle.get_nowait()
        except queue.Empty:
            log = self.root / f".forkserver-{kind}-{n}-{threading.get_ident()}.log"
            server = ForkServer(case_env(Case("")), str(self.root), str(log), kind)
            with self._lock:
                self._all.append(server)
            return server

    def run(self, args: list[str], tmp: Path) -> Outcome:
        out_path = tmp / ".hostile-output"
        start = time.monotonic()
        with out_path.open("wb") as out, open(os.devnull, "rb") as null:
            try:
                server = self._take(server_kind(args))
                r = server.run(args, str(tmp), null.fileno(), out.fileno(), MAX_WALL_SECONDS)
            except ServerDied as exc:  # this case fails; the next one gets a new server
                output = out_path.read_bytes().decode("utf-8", "replace") + f"\n[hostile harness] {exc}\n"
                return Outcome(-1, output, time.monotonic() - start, 0.0, False)
        self._idle[server.kind].put(server)
        output = out_path.read_bytes().decode("utf-8", "replace")
        # charged with the server's start-up (interpreter and imports), which a fresh process pays
        # itself, and with the server's memory the child's peak may not count (forkserver.py)
        seconds = r["seconds"] + server.startup_seconds
        cpu = r["cpu"] + server.startup_cpu
        rss_mb = (r["maxrss"] + r["unshared"]) / 1024
        code = os.waitstatus_to_exitcode(r["status"])
        return Outcome(code, output, seconds, rss_mb, r["timed_out"], cpu, server.startup_cpu)

    def __enter__(self) -> ForkServers:
        return self

    def __exit__(self, *exc) -> None:
        for server in self._all:
            server.close()


def judge(c: Case, o: Outcome) -> list[str]:
    """What is wrong with an outcome (empty when the case held)."""
    problems = []
    if o.timed_out or o.seconds > MAX_WALL_SECONDS:
        problems.append(f"ran for {o.seconds:.1f} s of wall time (limit {MAX_WALL_SECONDS:.0f} s)")
    if o.cpu_seconds > MAX_SECONDS:
        problems.append(f"took {o.cpu_seconds:.1f} s of CPU (limit {MAX_SECONDS:.0f} s)")
    if o.rss_mb > MAX_RSS_MB:
        problems.append(f"peak memory {o.rss_mb:.0f} MB (limit {MAX_RSS_MB} MB)")
    if o.returncode not in c.expect:
        problems.append(f"exit code {o.returncode}, expected one of {c.expect}")
    if "Traceback" in o.output:
        problems.append("printed a Python traceback")
    if "bug in archdsl" in o.output:
        problems.append("reported an internal error")
    if not (LOCATED.search(o.output) or "= help:" in o.output):
        problems.append("no location (file:line:col) and no '= help:' line")
    return problems
