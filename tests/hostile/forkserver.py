"""A fork server for the hostile corpus: import archdsl once, run each case in a forked child.

Each case of the corpus used to start a fresh ``python -m archdsl``, and most of what such a case
costs is that start-up (the interpreter, typer, pydantic, lark, the resolver: about 0.3 s of CPU).
The server is a fresh interpreter of its own (never a fork of the pytest process, whose xdist
worker runs execnet threads), started with the environment a case would get. It imports what
``archdsl`` imports for its commands (:data:`PRELOAD`: modules only, nothing is run, no cache is
filled, the typer app is not made) and then, for each request, forks a child that becomes the
case's process as ``python -m archdsl ARGS`` would have been: its own session, the case's folder
as working directory and as ``sys.path[0]``, the case's output file as stdout and stderr,
``/dev/null`` as stdin, and ``archdsl.__main__`` run as ``__main__`` by :mod:`runpy`. The child
leaves through the interpreter's normal exit (``SystemExit``, an uncaught exception's traceback,
``atexit``), so its exit code and output are what a fresh process gives.

Every child starts from the state the server had after its imports, which is the state of a
fresh process after the same imports: what a case changes (the std-library cache, fileio's record
of inputs, signal handlers, the typer app) dies with its child. :func:`_check_pristine` refuses to
serve if the imports changed any of that state.

The server waits for each child (``os.wait4``: exit status, CPU time and peak RSS of the child and
of what it waited for) and kills the child's process group after :data:`WALL_LIMIT` seconds, as the
harness does with a fresh process. Linux starts a forked child's peak RSS at the part of its
parent's resident memory that the fork copies (anonymous and written pages), and counts the rest
(file-backed pages: code of the interpreter and of extension modules) as the child touches it;
the harness adds that rest (``unshared``) to the child's peak, and the server's start-up CPU time
(interpreter and imports) and wall time to the child's, which a fresh process pays itself. Measured
over the whole corpus (both ways, see the commit that added this module), the exit codes are the
same; CPU and wall are then at least a fresh process's; peak RSS is within a few MB either way
(the imports made in another order move the garbage collector's runs: fmt_a_long_string peaks at
151 MB here against 157 MB fresh, against a 500 MB bound).

A child that crashes or hangs ends alone: the server only waits for it. If the server itself
dies, the case it was running fails and the next case starts a new server.

Protocol (a ``SOCK_SEQPACKET`` socket pair, one JSON message each way per case): the request
``{"argv": [...], "cwd": "...", "module": "archdsl", "wall": seconds}`` carries two file
descriptors (stdin, output: stdout and stderr) or three (stdin, stdout, stderr); the reply is
``{"status", "maxrss", "unshared", "cpu", "seconds", "timed_out"}`` (sizes in KiB).
The server's first message is ``{"ready": true, "cpu": start-up CPU seconds}``.

Cases that set environment variables, feed stdin, or ask for a fresh interpreter (``fresh``) do
not come here: tests/hostile/harness.py runs them as fresh processes. ``run_cli`` of the other
tests (tests/conftest.py, tests/cli_server.py) uses the same server.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import time

WALL_LIMIT = 30.0  # the harness's MAX_WALL_SECONDS; a request may ask for another bound
MAX_MESSAGE = 1 << 20

# Imported by the server once; each is what some archdsl command imports anyway. Torch, onnx,
# optuna and the other optional heavy dependencies are not here: a case that needs them imports
# them in its child, as a fresh process would (and they would inflate every case's peak RSS).
PRELOAD = (
    "archdsl.cli",
    "archdsl.cli.lazy",
    "archdsl.cli.common",
    "archdsl.fileio",
    "archdsl.diagnostics",
    "archdsl.codes",
    "archdsl.syntax",
    "archdsl.syntax.parser",
    "archdsl.syntax.concrete",
    "archdsl.resolve",
    "archdsl.ir",
    "archdsl.space",
    "archdsl.fmt",
    "archdsl.backend",
    "archdsl.rules",
)
# A server of kind "onnx" also imports the ONNX backend and what it needs (about 1.3 s of CPU per
# fresh process): compile -b onnx cases go there (tests/hostile/harness.py, server_kind).
KINDS: dict[str, tuple[str, ...]] = {
    "base": PRELOAD,
    "onnx": (*PRELOAD, "numpy", "onnx", "safetensors", "archdsl.passes", "archdsl.weights", "archdsl_backends.onnx"),
}


# ---- the server ---------------------------------------------------------------------------------


def _preload(kind: str) -> None:
    import importlib

    for name in KINDS[kind]:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a module renamed since: the child imports what it needs
            if exc.name != name:
                raise


def _check_pristine() -> list[str]:
    """What the imports changed that a case's run must find untouched (empty when all is fresh)."""
    import threading

    problems = []
    if threading.active_count() != 1:  # (native threads, OpenBLAS's, are stopped by their own fork handlers)
        problems.append(f"{threading.active_count()} threads (a fork copies only the calling one)")
    cli = sys.modules.get("archdsl.cli")
    if cli is not None and getattr(cli, "_app", None) is not None:
        problems.append("the typer app was made")
    fileio = sys.modules.get("archdsl.fileio")
    if fileio is not None and (fileio._INPUTS or fileio._INPUT_PATHS or fileio._PENDING):
        problems.append("fileio recorded inputs or pending outputs")
    program = sys.modules.get("archdsl.resolve.program")
    if program is not None and getattr(program, "_STD_CACHE", None):
        problems.append("the std-library cache is filled")
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD, signal.SIGALRM):
        if signal.getsignal(sig) is not signal.SIG_DFL:
            problems.append(f"a handler for {signal.Signals(sig).name} is installed")
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        problems.append("SIGINT is not Python's default")
    if signal.getsignal(signal.SIGPIPE) is not signal.SIG_IGN:
        problems.append("SIGPIPE is not ignored as Python starts")
    return problems


def _unshared_kib() -> int:
    """The server's resident pages a forked child does not count until it touches them (KiB).

    A fork copies the page tables of anonymous and written private memory only; pages of file
    and shared mappings are counted in the child once it faults them. Adding these to the child's
    peak RSS bounds from above what a process holding all of the server's memory would report."""
    kib = 0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("RssFile:", "RssShmem:")):
                kib += int(line.split()[1])
    return kib


def _send(sock: socket.socket, message: dict) -> None:
    sock.send(json.dumps(message).encode())


def _wait(pid: int, wall: float) -> tuple[int, object, bool]:
    """Wait for the child ``pid``; after ``wall`` seconds kill its process group."""
    pidfd = os.pidfd_open(pid)
    try:
        ready, _, _ = select.select([pidfd], [], [], wall)
    finally:
        os.close(pidfd)
    timed_out = not ready
    if timed_out:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:  # its session was not made yet
            os.kill(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    return status, usage, timed_out


def serve(sock: socket.socket) -> tuple[dict, list[int]] | None:
    """Answer requests until EOF (returns None); in a forked child, return its request and fds."""
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 3)
        except ConnectionError:
            return None
        if not data:
            for fd in fds:
                os.close(fd)
            return None
        request = json.loads(data)
        unshared = _unshared_kib()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            return request, fds
        for fd in fds:
            os.close(fd)
        status, usage, timed_out = _wait(pid, float(request.get("wall", WALL_LIMIT)))
        _send(
            sock,
            {
                "status": status,
                "maxrss": usage.ru_maxrss,
                "unshared": unshared,
                "cpu": usage.ru_utime + usage.ru_stime,
                "seconds": time.monotonic() - start,
                "timed_out": timed_out,
            },
        )


def become_case(sock: socket.socket, request: dict, fds: list[int]) -> None:
    """In the forked child: take the case's place, as ``python -m MODULE ARGV`` would start."""
    import runpy

    sock.close()
    os.setsid()
    stdin, stdout, stderr = fds if len(fds) == 3 else (*fds, fds[1])
    os.dup2(stdin, 0)
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    if "env" in request:
        os.environ.clear()
        os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.path[0] = os.getcwd()  # what `python -m` puts first
    module = request.get("module", "archdsl")
    sys.argv = [module, *request["argv"]]  # runpy sets argv[0] to the module's file
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    _preload(sys.argv[2])
    problems = _check_pristine()
    if problems:
        _send(sock, {"ready": False, "problems": problems})
        sys.exit(1)
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    _send(sock, {"ready": True, "cpu": usage.ru_utime + usage.ru_stime, "pid": os.getpid()})
    job = serve(sock)
    if job is not None:
        become_case(sock, *job)  # returns (or raises SystemExit) as the case's process ends


# ---- the client ---------------------------------------------------------------------------------


class ServerDied(RuntimeError):
    """The fork server ended or stopped answering while it ran a case."""


class ForkServer:
    """One fork server process; :meth:`run` runs one case at a time (use one server per thread)."""

    def __init__(self, env: dict[str, str], cwd: str, log_path: str, kind: str = "base") -> None:
        import subprocess

        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        self.kind = kind
        self.log_path = log_path
        start = time.monotonic()
        with open(log_path, "ab") as log:  # a regular file as stdout/stderr, as a case's output is
            self.proc = subprocess.Popen(
                [sys.executable, __file__, str(theirs.fileno()), kind],
                pass_fds=[theirs.fileno()],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        theirs.close()
        ready = self._receive(120.0)
        if not ready.get("ready"):
            self.close()
            raise ServerDied(f"the fork server refused to start: {ready.get('problems')}")
        self.startup_cpu = float(ready["cpu"])
        self.startup_seconds = time.monotonic() - start

    def _receive(self, timeout: float) -> dict:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(MAX_MESSAGE)
        except (TimeoutError, OSError) as exc:
            raise ServerDied(f"no answer from the fork server ({exc}){self._log_tail()}") from exc
        if not data:
            raise ServerDied(f"the fork server exited ({self.proc.poll()}){self._log_tail()}")
        return json.loads(data)

    def _log_tail(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                text = f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""
        return f"\n--- fork server log ---\n{text}" if text else ""

    def run(
        self,
        argv: list[str],
        cwd: str,
        stdin_fd: int,
        out_fd: int,
        wall: float,
        module: str = "archdsl",
        err_fd: int | None = None,
        env: dict[str, str] | None = None,
    ) -> dict:
        """Run one case (stderr to ``err_fd``, else with stdout to ``out_fd``); raises
        :class:`ServerDied` (and the server is gone) if the server failed."""
        request = {"argv": argv, "cwd": cwd, "module": module, "wall": wall}
        if env is not None:  # variables that differ from the server's only where no import reads them
            request["env"] = env
        request = json.dumps(request).encode()
        fds = [stdin_fd, out_fd] if err_fd is None else [stdin_fd, out_fd, err_fd]
        try:
            socket.send_fds(self.sock, [request], fds)
            return self._receive(wall + 60.0)
        except (ServerDied, OSError) as exc:
            self.close()
            raise exc if isinstance(exc, ServerDied) else ServerDied(f"the fork server is gone ({exc})") from exc

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self.sock.close()
        try:
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    main()
