"""``run_cli`` without a fresh interpreter per call: the CLI runs in a child of a fork server.

Most tests of the command line check what ``python -m archdsl ...`` prints and exits with, and
most of what such a call costs is the interpreter's start-up and archdsl's imports (0.3 s to
1.5 s of CPU). :func:`run` hands the call to a fork server (tests/hostile/forkserver.py: a fresh
interpreter that imported archdsl once, never a fork of the pytest process) whose child becomes
the command as a fresh process would be: its own session, the working folder and ``sys.path[0]``,
the argv, stdout and stderr to files, stdin ``/dev/null``, ``archdsl.__main__`` run as ``__main__``
and the interpreter's normal exit; what a call changes dies with its child.

Off unless ``ARCHDSL_TEST_FORK_CLI=1`` (not yet proven on the whole suite: its first full run
had two failures still to look into). A call whose environment differs from the server's (``env=``,
or a variable a test set since the server started) runs as a fresh process.
Tests about the process itself (what it imports, signals, start-up) start their own processes.
"""

from __future__ import annotations

import atexit
import locale
import os
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from tests.hostile.forkserver import ForkServer, ServerDied
from tests.hostile.harness import server_kind

_LOCK = threading.Lock()
_IDLE: dict[tuple[str, tuple], queue.SimpleQueue[ForkServer]] = {}
_ALL: list[ForkServer] = []
_ROOT: Path | None = None


def _close_all() -> None:
    for server in _ALL:
        server.close()


# pytest sets this for each test; the child gets the current value (forkserver.py, "env")
_PER_TEST = ("PYTEST_CURRENT_TEST",)


def _stable(env: dict[str, str]) -> tuple:
    return tuple(sorted((k, v) for k, v in env.items() if k not in _PER_TEST))


def _take(kind: str, env: dict[str, str]) -> ForkServer:
    global _ROOT
    key = (kind, _stable(env))
    with _LOCK:
        if _ROOT is None:
            _ROOT = Path(tempfile.mkdtemp(prefix="archdsl-cli-server-"))
            atexit.register(_close_all)
        for other in [k for k in _IDLE if k[1] != key[1]]:  # the environment changed: servers of another are done
            stale = _IDLE.pop(other)
            while not stale.empty():
                stale.get_nowait().close()
        idle = _IDLE.setdefault(key, queue.SimpleQueue())
        n = len(_ALL)
    try:
        return idle.get_nowait()
    except queue.Empty:
        server = ForkServer(env, str(_ROOT), str(_ROOT / f"server-{kind}-{n}.log"), kind)
        server.env_key = key
        with _LOCK:
            _ALL.append(server)
        return server


def _text(data: bytes) -> str:
    # as subprocess's text mode: the locale's encoding, universal newlines
    return data.decode(locale.getpreferredencoding(False)).replace("\r\n", "\n").replace("\r", "\n")


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess | None:
    """Run ``python -m archdsl ARGV`` in a fork server's child; None when the call needs a fresh process."""
    if os.environ.get("ARCHDSL_TEST_FORK_CLI") != "1" or _stable(env) != _stable({**os.environ, "NO_COLOR": "1"}):
        return None
    server = _take(server_kind(argv), env)
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        open(os.devnull, "rb") as null,
    ):
        try:
            reply = server.run(argv, str(cwd), null.fileno(), out.fileno(), timeout, err_fd=err.fileno(), env=env)
        except ServerDied:
            return None  # the server failed (not the command): run it as a fresh process instead
        with _LOCK:
            _IDLE.setdefault(server.env_key, queue.SimpleQueue()).put(server)
        out.seek(0)
        err.seek(0)
        stdout, stderr = _text(out.read()), _text(err.read())
    args = [sys.executable, "-m", "archdsl", *argv]
    if reply["timed_out"]:
        raise subprocess.TimeoutExpired(args, timeout, stdout, stderr)
    return subprocess.CompletedProcess(args, os.waitstatus_to_exitcode(reply["status"]), stdout, stderr)
