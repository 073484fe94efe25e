"""Reading inputs and writing artefacts safely: bounded reads, atomic writes, inputs never overwritten.

Every file archdsl reads on a user's behalf (a spec, an imported spec, a weights file, a lint
config, a calibration file) goes through :func:`read_input` (or :func:`open_input`, for a reader
that streams) or is registered with :func:`note_input`; every artefact it writes goes through
:func:`atomic_write`. That gives three guarantees in one place:

- **bounded reads**: only regular files are read (a FIFO, ``/dev/zero`` or a directory is refused
  without blocking), and at most ``limit + 1`` bytes are read, so an oversized file costs no more
  memory than the limit;
- **inputs are never destroyed**: an artefact path that is, or links to (symbolic or hard link),
  a file this process read as an input is refused with :class:`OutputError` before anything is
  written;
- **atomic artefacts**: data goes to a temporary file in the target's folder, is flushed to disk
  and then renamed over the target with :func:`os.replace`. An error, SIGINT or SIGTERM part way
  leaves the previous artefact intact and removes the temporary file.

This module imports the standard library only, so every layer may use it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

__all__ = [
    "InputError",
    "OutputError",
    "atomic_write",
    "check_output",
    "forget_inputs",
    "install_signal_handlers",
    "note_input",
    "open_input",
    "read_input",
]


class InputError(Exception):
    """An input cannot be read: missing, not a regular file, too large, unreadable.

    ``reason`` is one of ``missing``, ``directory``, ``special``, ``too_large``, ``unreadable``.
    """

    def __init__(self, message: str, reason: str, path: str):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.path = path


class OutputError(Exception):
    """An artefact cannot be written where asked (it would overwrite an input, say)."""

    def __init__(self, message: str, help: str | None = None, path: str = ""):
        super().__init__(message)
        self.message = message
        self.help = help
        self.path = path


# (st_dev, st_ino) of every input read in this process -> the label it was read under.
_INPUTS: dict[tuple[int, int], str] = {}
_INPUT_PATHS: dict[str, str] = {}
_LOCK = threading.Lock()


def note_input(path: str | os.PathLike[str], label: str | None = None) -> None:
    """Record ``path`` as an input of this run, so that no artefact may replace it."""
    p = os.fspath(path)
    label = label or p
    try:
        st = os.stat(p)
    except OSError:
        return
    _record(p, st, label)


def forget_inputs() -> None:
    """Forget every recorded input (for long-running processes such as a language server)."""
    with _LOCK:
        _INPUTS.clear()
        _INPUT_PATHS.clear()


def _open_regular(path: str, label: str) -> tuple[int, os.stat_result]:
    """Open ``path`` for reading without blocking on FIFOs; refuse anything but a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise InputError(f"file '{label}' not found", "missing", path) from None
    except IsADirectoryError:
        raise InputError(f"'{label}' is a directory, not a file", "directory", path) from None
    except PermissionError as exc:
        raise InputError(f"cannot read '{label}': {exc.strerror}", "unreadable", path) from None
    except OSError as exc:
        raise InputError(f"cannot read '{label}': {exc.strerror or exc}", "unreadable", path) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"'{label}' is a directory, not a file", "directory", path)
        if not stat.S_ISREG(st.st_mode):
            kind = _kind(st.st_mode)
            raise InputError(f"'{label}' is {kind}, not a regular file", "special", path)
        # back to blocking reads for a regular file
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def read_input(path: str | os.PathLike[str], limit: int, label: str | None = None) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them; records it as an input.

    Raises :class:`InputError` for a missing, special, unreadable or oversized file. Never reads
    more than ``limit + 1`` bytes, whatever the file's size.
    """
    p = os.fspath(path)
    label = label or p
    fd, st = _open_regular(p, label)
    try:
        if st.st_size > limit:
            raise InputError(f"'{label}' is {st.st_size:,} bytes, above the limit of {limit:,}", "too_large", p)
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # the file grew while we read it
            raise InputError(f"'{label}' is larger than the limit of {limit:,} bytes", "too_large", p)
    except OSError as exc:
        raise InputError(f"cannot read '{label}': {exc.strerror or exc}", "unreadable", p) from None
    finally:
        os.close(fd)
    _record(p, st, label)
    return b"".join(chunks)


def open_input(path: str | os.PathLike[str], limit: int | None = None, label: str | None = None) -> IO[bytes]:
    """The regular file ``path`` opened for binary reading (seekable); records it as an input.

    For inputs too large to read whole (weights files) and for readers that stream (``torch.load``):
    the caller reads what it needs. The same refusals as :func:`read_input` (missing, directory,
    special file, above ``limit`` bytes), without blocking on a FIFO.
    """
    p = os.fspath(path)
    label = label or p
    fd, st = _open_regular(p, label)
    if limit is not None and st.st_size > limit:
        os.close(fd)
        raise InputError(f"'{label}' is {st.st_size:,} bytes, above the limit of {limit:,}", "too_large", p)
    _record(p, st, label)
    return os.fdopen(fd, "rb")


def _record(path: str, st: os.stat_result, label: str) -> None:
    with _LOCK:
        _INPUTS[(st.st_dev, st.st_ino)] = label
        _INPUT_PATHS[os.path.realpath(path)] = label


def check_output(path: str | os.PathLike[str]) -> None:
    """Raise :class:`OutputError` if ``path`` cannot take an artefact: it would replace or alter an
    input of this run, it is a folder, or a folder on its way is a file.

    Catches the same path spelled differently, a symbolic link to an input and a hard link to one.
    Cheap and side-effect free, so a command checks every path it will write before doing any work.
    """
    p = os.fspath(path)
    with _LOCK:
        by_path = _INPUT_PATHS.get(os.path.realpath(p))
        by_inode = None
        with contextlib.suppress(OSError):
            st = os.stat(p)
            by_inode = _INPUTS.get((st.st_dev, st.st_ino))
        with contextlib.suppress(OSError):
            lst = os.lstat(p)
            by_inode = by_inode or _INPUTS.get((lst.st_dev, lst.st_ino))
    label = by_path or by_inode
    if label is not None:
        how = " (a symbolic link to it)" if os.path.islink(p) else "" if by_path else " (a hard link to it)"
        raise OutputError(
            f"refusing to write '{p}': it is the input '{label}'{how}",
            help="choose another output path with -o; archdsl never overwrites its inputs",
            path=p,
        )
    if os.path.isdir(p):
        raise OutputError(
            f"refusing to write '{p}': it is a folder",
            help="name a file to write, or a path inside the folder",
            path=p,
        )
    blocker = _file_on_the_way(p)
    if blocker is not None:
        raise OutputError(
            f"cannot write '{p}': '{blocker}' is a file, not a folder",
            help="choose an output path whose folders are folders",
            path=p,
        )


def _file_on_the_way(path: str) -> str | None:
    """The first existing ancestor of ``path`` that is not a folder (so no file can be made below it)."""
    parent = os.path.dirname(os.path.abspath(path))
    while True:
        if os.path.lexists(parent):
            return None if os.path.isdir(parent) else parent
        up = os.path.dirname(parent)
        if up == parent:
            return None
        parent = up


# ---- atomic writes --------------------------------------------------------------------------

Writer = Callable[[IO[bytes]], object]


def atomic_write(path: str | os.PathLike[str], data: bytes | str | Writer, *, mode: int | None = None) -> Path:
    """Write ``data`` (bytes, text as UTF-8, or a function that writes to a binary file) to ``path``.

    The data goes to a temporary file beside ``path``, is flushed and fsynced, then renamed over
    ``path``; on any error or interruption the temporary file is removed and ``path`` keeps its
    old contents. Refuses (:class:`OutputError`) a path that is an input of this run, a folder, or
    a path below a file. Missing parent folders are created. An existing artefact keeps its mode,
    and one that its owner made read-only stays unwritten (``PermissionError``, as ``open`` would).
    A stream that cannot be replaced (``/dev/null``, ``/dev/stdout``, a pipe) is written in place;
    a named pipe nobody reads is refused instead of blocking. Returns ``path``.
    """
    target = Path(path)
    check_output(target)
    if target.is_symlink():  # update the file the link points at, as open() would
        target = Path(os.path.realpath(target))
        check_output(target)
    parent = target.parent if str(target.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    if target.exists() and not target.is_file():  # /dev/stdout, a FIFO: a stream cannot be replaced
        _write_stream(target, data)
        return target
    if target.exists() and not os.access(target, os.W_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(target))
    import tempfile  # here, not at the top: check and lint write nothing (start-up, docs/performance.md)

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:  # name the file the caller asked for, not the temporary one
        exc.filename = str(target)
        raise
    try:
        with _registered(tmp), os.fdopen(fd, "wb") as fh:
            _write(fh, data)
            fh.flush()
            os.fsync(fh.fileno())
            os.chmod(tmp, mode if mode is not None else _default_mode(target))
            os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename == tmp:
            exc.filename = str(target)
        raise
    return target


def _write_stream(target: Path, data: bytes | str | Writer) -> None:
    """Write to a device or pipe; a named pipe without a reader is an error, not a hang."""
    flags = os.O_WRONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise OutputError(
                f"cannot write '{target}': it is a named pipe and nothing is reading it",
                help="start the reader first, or write to a regular file",
                path=str(target),
            ) from None
        raise
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    with os.fdopen(fd, "wb") as fh:
        _write(fh, data)


def _write(fh: IO[bytes], data: bytes | str | Writer) -> None:
    if isinstance(data, str):
        fh.write(data.encode("utf-8"))
    elif isinstance(data, (bytes, bytearray, memoryview)):
        fh.write(data)
    else:
        data(fh)


def _default_mode(target: Path) -> int:
    """Keep an existing artefact's mode; a new one gets 0666 less the umask, as open() would."""
    with contextlib.suppress(OSError):
        return stat.S_IMODE(os.stat(target).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# Temporary files being written right now, removed by the signal handler before the process dies.
_PENDING: set[str] = set()


@contextlib.contextmanager
def _registered(tmp: str) -> Iterator[None]:
    with _LOCK:
        _PENDING.add(tmp)
    try:
        yield
    finally:
        with _LOCK:
            _PENDING.discard(tmp)


def _on_terminate(signum, frame) -> None:  # pragma: no cover - exercised by a subprocess test
    for tmp in list(_PENDING):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    # re-raise as the conventional exit status of a process killed by the signal
    raise SystemExit(128 + signum)


def install_signal_handlers() -> None:
    """Turn SIGTERM (and SIGHUP) into a clean exit that removes unfinished temporary files.

    SIGINT already raises KeyboardInterrupt, which :func:`atomic_write` cleans up after. Called
    by the command line's entry point; a library user keeps their own handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, _on_terminate)
