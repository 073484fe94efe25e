"""Run a local program (``ssh``, ``scp``) with a wall-clock limit and a cap on what we read from it.

A device is not trusted to print sensible output: it may print gigabytes, bytes that are not
UTF-8, or terminal escape sequences. :func:`call` reads the program's stdout and stderr as they
come (no deadlock on full pipes), keeps at most ``limit`` bytes of stdout and the last
:data:`STDERR_KEEP` bytes of stderr, kills the program when it prints more than ``limit`` bytes or
runs past ``timeout``, and decodes what it kept with replacement characters. The program is
killed, never left behind, when the caller is interrupted (Ctrl-C, SIGTERM).

``keep_stdin=True`` gives the program a pipe as stdin that stays open until it exits: ``ssh``
then keeps the remote command's stdin open too, and the remote side sees end-of-file as soon as
this process dies, however it dies (the runner stops itself then: see :mod:`.runner`).

:func:`printable` makes device text safe to print on a terminal. Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import time
from dataclasses import dataclass

STDERR_KEEP = 64 * 1024
CHUNK = 64 * 1024


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str
    overflow: bool = False
    """stdout was longer than the limit: the program was killed and the rest dropped"""
    timed_out: bool = False
    """the program ran past the timeout and was killed"""


def call(argv: list[str], timeout: float, limit: int, keep_stdin: bool = False, env: dict | None = None) -> Result:
    """Run ``argv``; raises FileNotFoundError/OSError when it cannot be started.

    Never holds more than ``limit`` + :data:`CHUNK` bytes of stdout and :data:`STDERR_KEEP` of
    stderr in memory, whatever the program prints.
    """
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if keep_stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    out = bytearray()
    err = bytearray()
    overflow = timed_out = False
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as sel:
            assert proc.stdout is not None and proc.stderr is not None
            sel.register(proc.stdout, selectors.EVENT_READ, "out")
            sel.register(proc.stderr, selectors.EVENT_READ, "err")
            while sel.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                for key, _ in sel.select(min(left, 1.0)):
                    chunk = os.read(key.fd, CHUNK)
                    if not chunk:
                        sel.unregister(key.fileobj)
                    elif key.data == "out":
                        out += chunk
                        if len(out) > limit:
                            overflow = True
                    else:
                        err += chunk
                        if len(err) > STDERR_KEEP:
                            del err[: len(err) - STDERR_KEEP]
                if overflow:
                    del out[limit:]
                    break
        if timed_out or overflow:
            _kill(proc)
        else:
            try:
                proc.wait(max(0.1, min(5.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:  # closed its output but did not exit
                timed_out = True
                _kill(proc)
    except BaseException:  # Ctrl-C, SIGTERM (SystemExit): never leave the program running
        _kill(proc)
        raise
    finally:
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
    return Result(
        proc.returncode if proc.returncode is not None else -9,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
        overflow,
        timed_out,
    )


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        proc.wait(5)


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F]}
_CONTROL.update({c: f"\\u{c:04x}" for c in range(0x80, 0xA0)})


def printable(text: str, max_len: int = 2000) -> str:
    """``text`` with control characters (ESC, CR, ...) escaped and cut to ``max_len`` characters.

    Newlines and tabs are kept; a terminal shows the result as it is, without being driven by it.
    """
    if len(text) > max_len:
        text = text[:max_len] + " [...]"
    return text.translate(_CONTROL)
