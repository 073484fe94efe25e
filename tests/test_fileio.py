"""archdsl.fileio: bounded input reads, inputs never overwritten, atomic artefact writes.

Each guarantee is checked against the file system itself (inodes, modes, what is left in the
folder), not against the module's internals. Signals sent to a real process are in
tests/test_security_artefacts.py.
"""

from __future__ import annotations

import errno
import os
import select
import stat
import threading
import time
from pathlib import Path

import pytest

from archdsl import fileio
from archdsl.fileio import InputError, OutputError, atomic_write, check_output, note_input, open_input, read_input

ROOT_USER = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(autouse=True)
def _fresh_inputs():
    fileio.forget_inputs()
    yield
    fileio.forget_inputs()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def _no_block(fn, *args, seconds: float = 5.0):
    """Run ``fn(*args)`` in a thread; fail (instead of hanging the suite) if it blocks."""
    box: dict = {}

    def target():
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # handed back to the test
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"{fn.__name__} blocked for {seconds} s"
    if "error" in box:
        raise box["error"]
    return box.get("value")


# ---- read_input ---------------------------------------------------------------------------


def test_read_input_returns_the_bytes_and_records_the_input(tmp_path):
    f = tmp_path / "a.arch"
    f.write_bytes(b"net a {}\n")
    assert read_input(f, 100) == b"net a {}\n"
    with pytest.raises(OutputError, match="it is the input"):
        check_output(f)


def test_read_input_exactly_at_the_limit_is_fine_one_byte_more_is_not(tmp_path):
    f = tmp_path / "a"
    f.write_bytes(b"x" * 100)
    assert len(read_input(f, 100)) == 100
    f.write_bytes(b"x" * 101)
    with pytest.raises(InputError) as err:
        read_input(f, 100)
    assert err.value.reason == "too_large"
    assert "101" in err.value.message and "100" in err.value.message


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: None, "missing"),
        (lambda p: p.mkdir(), "directory"),
        (lambda p: os.mkfifo(p), "special"),
    ],
    ids=["missing", "directory", "fifo"],
)
def test_read_input_refuses_what_is_not_a_regular_file(tmp_path, make, reason):
    p = tmp_path / "x.arch"
    make(p)
    with pytest.raises(InputError) as err:
        _no_block(read_input, p, 1000)  # a FIFO with no writer must not block
    assert err.value.reason == reason
    assert err.value.path == str(p)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_read_input_refuses_devices_without_reading_them(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    with pytest.raises(InputError) as err:
        _no_block(read_input, device, 1 << 20)
    assert err.value.reason == "special"
    assert "character device" in err.value.message


def test_open_input_refuses_a_fifo_without_blocking_and_streams_a_file(tmp_path):
    fifo = tmp_path / "w.pt"
    os.mkfifo(fifo)
    with pytest.raises(InputError) as err:
        _no_block(open_input, fifo)
    assert err.value.reason == "special"
    f = tmp_path / "w.bin"
    f.write_bytes(b"abc" * 1000)
    with open_input(f) as fh:
        assert fh.read(3) == b"abc"
        assert os.get_blocking(fh.fileno())  # opened without blocking, then read with blocking reads
        fh.seek(0)
        assert len(fh.read()) == 3000
    with pytest.raises(OutputError):
        check_output(f)


def _counting_reads(monkeypatch) -> list[int]:
    sizes: list[int] = []
    real = os.read

    def counting(fd, n):
        data = real(fd, n)
        sizes.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counting)
    return sizes


def test_read_input_never_reads_more_than_limit_plus_one_when_the_size_lies(tmp_path, monkeypatch):
    """A file that grows after fstat (simulated: fstat says 0 bytes) is cut off at limit + 1."""
    f = tmp_path / "big"
    f.write_bytes(b"x" * (8 << 20))
    real_fstat = os.fstat

    def lying_fstat(fd):
        st = real_fstat(fd)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, 0, 0, 0, 0))

    monkeypatch.setattr(os, "fstat", lying_fstat)
    sizes = _counting_reads(monkeypatch)
    with pytest.raises(InputError) as err:
        read_input(f, 1000)
    assert err.value.reason == "too_large"
    assert sum(sizes) <= 1001


def test_read_input_bounds_a_proc_file_whose_size_is_zero(monkeypatch):
    """/proc files claim 0 bytes but have content: a real case of a size that lies."""
    path = "/proc/self/status"
    if not os.path.exists(path):
        pytest.skip("no /proc")
    sizes = _counting_reads(monkeypatch)
    with pytest.raises(InputError) as err:
        read_input(path, 10)
    assert err.value.reason == "too_large"
    assert sum(sizes) <= 11


def test_read_input_of_an_oversized_file_reads_nothing(tmp_path, monkeypatch):
    f = tmp_path / "big"
    with f.open("wb") as fh:  # sparse: 1 GiB that costs no disk
        fh.truncate(1 << 30)
    sizes = _counting_reads(monkeypatch)
    with pytest.raises(InputError) as err:
        read_input(f, 4 << 20)
    assert err.value.reason == "too_large"
    assert sum(sizes) == 0


@pytest.mark.skipif(ROOT_USER, reason="root reads any file")
def test_read_input_of_an_unreadable_file(tmp_path):
    f = tmp_path / "secret.arch"
    f.write_text("x")
    f.chmod(0)
    with pytest.raises(InputError) as err:
        read_input(f, 100)
    assert err.value.reason == "unreadable"


def test_note_input_of_a_missing_file_is_harmless(tmp_path):
    note_input(tmp_path / "nope.pt")
    check_output(tmp_path / "nope.pt")


def test_forget_inputs(tmp_path):
    f = tmp_path / "a"
    f.write_text("x")
    note_input(f)
    fileio.forget_inputs()
    check_output(f)


# ---- check_output: every spelling and every link of an input --------------------------------


@pytest.fixture
def spec(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    f = tmp_path / "v.arch"
    f.write_text("net v {}\n")
    read_input("v.arch", 1000)
    return f


@pytest.mark.parametrize(
    "spelling",
    ["v.arch", "./v.arch", "sub/../v.arch", "sub/./../v.arch", "{tmp}/v.arch", "{tmp}//v.arch", "nope/../v.arch"],
)
def test_the_same_path_spelled_differently_is_refused(spec, spelling):
    with pytest.raises(OutputError) as err:
        check_output(spelling.replace("{tmp}", str(spec.parent)))
    assert "it is the input 'v.arch'" in err.value.message
    assert err.value.help


def test_a_symbolic_link_to_an_input_is_refused(spec):
    os.symlink("v.arch", "link.dot")
    os.symlink("link.dot", "link2.dot")  # a chain of links
    for name in ("link.dot", "link2.dot"):
        with pytest.raises(OutputError, match="symbolic link"):
            check_output(name)
        with pytest.raises(OutputError):
            atomic_write(name, b"x")
    assert spec.read_text() == "net v {}\n"


def test_a_hard_link_to_an_input_is_refused(spec):
    os.link("v.arch", "sub/hard.onnx")
    with pytest.raises(OutputError, match="hard link"):
        check_output("sub/hard.onnx")
    with pytest.raises(OutputError):
        atomic_write("sub/hard.onnx", b"protobuf")
    assert spec.read_text() == "net v {}\n"


def test_an_input_read_through_a_link_protects_its_target_and_the_link(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("real.arch").write_text("net r {}\n")
    os.symlink("real.arch", "alias.arch")
    read_input("alias.arch", 1000)
    for name in ("real.arch", "alias.arch"):
        with pytest.raises(OutputError):
            check_output(name)


def test_a_folder_and_a_path_below_a_file_are_refused(spec):
    with pytest.raises(OutputError, match="it is a folder"):
        check_output("sub")
    Path("plain.txt").write_text("x")
    with pytest.raises(OutputError, match=r"'.*plain\.txt' is a file, not a folder"):
        check_output("plain.txt/deeper/out.dot")


def test_ordinary_outputs_pass(spec):
    check_output("out.dot")
    check_output("new/folder/out.dot")
    check_output("/dev/null")


# ---- atomic_write ---------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"\x00bytes\xff", "text é", lambda fh: fh.write(b"from a writer")])
def test_atomic_write_writes_every_kind_of_data(tmp_path, data):
    target = tmp_path / "deep" / "er" / "out.bin"
    assert atomic_write(target, data) == target
    expected = {bytes: data, str: "text é".encode()}.get(type(data), b"from a writer")
    assert target.read_bytes() == expected
    assert _leftovers(target.parent) == []


def test_atomic_write_replaces_the_file_rather_than_writing_into_it(tmp_path):
    """A hard link elsewhere keeps the old bytes: the new artefact is a new file, renamed in."""
    target = tmp_path / "out.onnx"
    target.write_bytes(b"old")
    os.link(target, tmp_path / "other")
    old_inode = target.stat().st_ino
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_ino != old_inode
    assert (tmp_path / "other").read_bytes() == b"old"


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt(), OSError(errno.EIO, "I/O error")])
def test_a_failing_writer_leaves_the_old_file_and_no_temporary_file(tmp_path, exc):
    target = tmp_path / "model.pt"
    target.write_bytes(b"good old weights")

    def writer(fh):
        fh.write(b"half of the new" * 1000)
        raise exc

    with pytest.raises(type(exc)):
        atomic_write(target, writer)
    assert target.read_bytes() == b"good old weights"
    assert _leftovers(tmp_path) == []


def test_atomic_write_keeps_the_mode_of_an_existing_artefact(tmp_path):
    target = tmp_path / "net.py"
    target.write_text("old")
    target.chmod(0o640)
    atomic_write(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_new_artefact_gets_the_mode_open_would_give_it(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "a.svg", b"<svg/>")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.svg").stat().st_mode) == 0o640  # not mkstemp's 0600


def test_an_explicit_mode(tmp_path):
    atomic_write(tmp_path / "run.sh", b"#!/bin/sh\n", mode=0o755)
    assert stat.S_IMODE((tmp_path / "run.sh").stat().st_mode) == 0o755


@pytest.mark.skipif(ROOT_USER, reason="root may write any file")
def test_a_read_only_artefact_is_not_replaced(tmp_path):
    target = tmp_path / "keep.onnx"
    target.write_bytes(b"keep")
    target.chmod(0o444)
    with pytest.raises(PermissionError):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"keep"
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(ROOT_USER, reason="root may write anywhere")
def test_an_unwritable_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError) as err:
            atomic_write(folder / "out.dot", b"x")
        assert err.value.filename == str(folder / "out.dot")
    finally:
        folder.chmod(0o755)


def test_a_failure_names_the_target_not_the_temporary_file():
    if not os.path.isdir("/proc/self"):
        pytest.skip("no /proc")
    with pytest.raises(OSError) as err:
        atomic_write("/proc/self/archdsl-out.dot", b"x")  # no file can be made in /proc
    assert err.value.filename == "/proc/self/archdsl-out.dot"


def test_atomic_write_through_a_symlink_updates_the_file_it_points_at(tmp_path):
    real = tmp_path / "real.svg"
    real.write_bytes(b"old")
    link = tmp_path / "link.svg"
    link.symlink_to(real.name)
    atomic_write(link, b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"


def test_a_directory_target_is_refused(tmp_path):
    (tmp_path / "out.dot").mkdir()
    with pytest.raises(OutputError, match="folder"):
        atomic_write(tmp_path / "out.dot", b"x")
    assert (tmp_path / "out.dot").is_dir()


def test_a_stream_target_is_written_in_place(tmp_path):
    atomic_write("/dev/null", b"x" * 100_000)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)  # still the device, not replaced by a file


def test_dev_full_is_a_clear_no_space_error():
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    with pytest.raises(OSError) as err:
        atomic_write("/dev/full", b"x" * 100_000)
    assert err.value.errno == errno.ENOSPC


def test_a_named_pipe_without_a_reader_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "out.dot"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="nothing is reading"):
        _no_block(atomic_write, fifo, b"digraph {}")


def test_a_named_pipe_with_a_reader_gets_the_data(tmp_path):
    fifo = tmp_path / "out.dot"
    os.mkfifo(fifo)
    payload = b"digraph {}" * 10_000  # more than a pipe holds: the writer must wait for the reader
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # the reader is there before the writer
    chunks: list[bytes] = []
    try:
        writer = threading.Thread(target=atomic_write, args=(fifo, payload), daemon=True)
        writer.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            select.select([fd], [], [], 0.1)
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            if chunk:
                chunks.append(chunk)
            elif not writer.is_alive():
                break
            else:
                time.sleep(0.01)  # no writer yet
    finally:
        os.close(fd)
    assert b"".join(chunks) == payload
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
