"""`archdsl lint` against hostile inputs: the report never replaces an input and is written
atomically; configuration files are read bounded, special files refused without blocking, and
malformed or pathological TOML gets a located error, never a traceback (issue 12, items 2, 3, 12).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archdsl.rules import config as cfgmod
from archdsl.rules import tomlread
from archdsl.rules.engine import Linter
from tests.conftest import ROOT, run_cli

SPEC = """\
import std

net n {
    input image [3, 32, 32]
    stem = conv(16, k = 1, s = 2) -> bn -> relu
    head = gap -> flatten -> linear(10)
}
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "s.arch").write_text(SPEC)
    return tmp_path


def lint(*args, cwd: Path, timeout: int = 120):
    return run_cli("lint", *args, cwd=cwd, timeout=timeout)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# ---- -o never replaces an input -------------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    ["same", "dot-spelled", "absolute", "symlink", "hard-link", "sarif", "json"],
)
def test_report_never_replaces_the_spec(project, how):
    spec = project / "s.arch"
    before = spec.read_bytes()
    target, extra = "s.arch", []
    if how == "dot-spelled":
        target = "./sub/../s.arch"
        (project / "sub").mkdir()
    elif how == "absolute":
        target = str(spec)
    elif how == "symlink":
        os.symlink("s.arch", project / "report.txt")
        target = "report.txt"
    elif how == "hard-link":
        os.link(spec, project / "report.txt")
        target = "report.txt"
    elif how in ("sarif", "json"):
        extra = ["--format", how]
    res = lint("s.arch", *extra, "-o", target, cwd=project)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "refusing to write" in res.stderr and "= help:" in res.stderr
    assert spec.read_bytes() == before
    assert leftovers(project) == []


def test_report_never_replaces_a_config_an_import_or_a_results_file(project):
    (project / "lib").mkdir()
    (project / "lib" / "blocks.arch").write_text("block unit(c) {\n    conv(c, k = 3) -> bn -> relu\n}\n")
    (project / "i.arch").write_text(
        'import "lib/blocks.arch"\n\nnet i {\n    input image [3, 32, 32]\n    x = unit(16)\n}\n'
    )
    (project / "results.json").write_text('{"n": 70.0}')
    pyproject = (
        '[tool.archdsl.lint]\npreset = "attendnext"\n[tool.archdsl.lint.rules.AD104]\nresults = "results.json"\n'
    )
    (project / "pyproject.toml").write_text(pyproject)
    (project / "lint.toml").write_text('select = ["AD"]\n')
    cases = [
        (["s.arch"], "pyproject.toml"),
        (["s.arch"], "results.json"),
        (["i.arch"], "lib/blocks.arch"),
        (["s.arch", "--config", "lint.toml"], "lint.toml"),
    ]
    for args, target in cases:
        before = (project / target).read_bytes()
        res = lint(*args, "-o", target, cwd=project)
        assert res.returncode == 2 and "refusing to write" in res.stderr, (target, res.stderr)
        assert (project / target).read_bytes() == before, target


def test_report_replaces_an_old_report_atomically(project):
    report = project / "out" / "lint.txt"
    report.parent.mkdir()
    report.write_text("old report\n")
    os.chmod(report, 0o640)
    inode = report.stat().st_ino
    res = lint("s.arch", "--preset", "attendnext", "-o", "out/lint.txt", cwd=project)
    assert res.returncode == 1 and res.stdout == ""
    assert "error[AD102]" in report.read_text()
    assert report.stat().st_ino != inode, "written beside and renamed over, not in place"
    assert oct(report.stat().st_mode & 0o777) == oct(0o640), "the old report's mode is kept"
    assert leftovers(report.parent) == []


CHILD = """
import os, sys, time
import archdsl.fileio as fileio

MARKER = sys.argv[1]

def stalled(fh, data):  # write part of the report, then hang until the parent's SIGTERM
    fh.write(b"partial report")
    fh.flush()
    open(MARKER, "w").close()
    time.sleep(120)

fileio._write = stalled
sys.argv = ["archdsl", "lint", "s.arch", "-o", "report.txt"]
from archdsl.cli import main
main()
"""


def test_sigterm_during_the_report_write_keeps_the_old_report(project):
    report = project / "report.txt"
    report.write_text("the previous report\n")
    marker = project / "writing"
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(marker)], cwd=project, env=env)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "lint -o finished without writing through archdsl.fileio.atomic_write"
            assert time.monotonic() < deadline, "the report write never started"
            time.sleep(0.05)
        assert [p.name for p in project.iterdir() if p.name.startswith(".report.txt.")], "a temporary file beside"
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 128 + signal.SIGTERM
    assert report.read_text() == "the previous report\n"
    assert [p.name for p in project.iterdir() if p.name.startswith(".report.txt.")] == []


def test_report_to_an_unwritable_place_is_a_usage_error(project):
    res = lint("s.arch", "-o", str(project), cwd=project)
    assert res.returncode == 2 and "folder" in res.stderr and "= help:" in res.stderr
    (project / "file").write_text("x")
    res = lint("s.arch", "-o", "file/report.txt", cwd=project)
    assert res.returncode == 2 and "= help:" in res.stderr and "Traceback" not in res.stderr


# ---- configuration files ------------------------------------------------------------------


def test_a_fifo_or_a_device_as_config_is_refused_without_blocking(project):
    os.mkfifo(project / "lint.toml")
    res = lint("s.arch", "--config", "lint.toml", cwd=project, timeout=60)
    assert res.returncode == 2 and "named pipe (FIFO)" in res.stderr and "= help:" in res.stderr
    res = lint("s.arch", "--config", "/dev/zero", cwd=project, timeout=60)
    assert res.returncode == 2 and "character device" in res.stderr
    res = lint("s.arch", "--config", str(project), cwd=project, timeout=60)
    assert res.returncode == 2 and "folder" in res.stderr


def test_a_fifo_named_pyproject_toml_is_passed_over(project):
    os.mkfifo(project / "pyproject.toml")
    res = lint("s.arch", "--select", "AD102", cwd=project, timeout=60)
    assert res.returncode == 1 and "error[AD102]" in res.stdout


def test_an_oversized_config_is_refused_unread(project, monkeypatch):
    big = project / "pyproject.toml"
    with big.open("wb") as fh:
        fh.write(b"[tool.archdsl.lint]\n# ")
        fh.truncate(64 << 20)
    read = []
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: read.append(n) or real_read(fd, n))
    with pytest.raises(cfgmod.ConfigError, match="above the limit") as info:
        cfgmod.load_file(big)
    assert sum(read) <= tomlread.MAX_CONFIG_BYTES + 1
    assert "limited to 1024 KiB" in info.value.render()


def test_malformed_toml_is_located_with_a_caret(project):
    (project / "pyproject.toml").write_text('[tool.archdsl.lint]\nselect = ["AD"\nignore = ["AR203"]\n')
    res = lint("s.arch", cwd=project)
    assert res.returncode == 2
    lines = res.stderr.splitlines()
    assert lines[0] == f"{project / 'pyproject.toml'}:3:1: error: invalid TOML: Unclosed array"
    assert lines[2:4] == ['3 | ignore = ["AR203"]', "  | ^"] and lines[-1].startswith("  = help:")
    (project / "lint.toml").write_text('select = ["AD102"]\nfail-on = \n')
    res = lint("s.arch", "--config", "lint.toml", cwd=project)
    assert res.returncode == 2 and res.stderr.startswith("lint.toml:2:11: error: invalid TOML: Invalid value")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tool.archdsl.lint]\nselect = " + "[" * 100_000 + "]" * 100_000, ":2:74: error: arrays and tables nested"),
        ("severity = " + "{a = " * 50_000 + "1" + "}" * 50_000 + "\n", ":1:"),
        ("[tool.archdsl]\n" + "a" + ".a" * 100_000 + " = 1\n", ":2:128: error: a dotted key or table name of more"),
        ("[" + ".".join(['"x"'] * 100_000) + "]\n", ": error: a dotted key or table name of more"),
    ],
    ids=["deep-arrays", "deep-inline-tables", "dotted-key", "dotted-table"],
)
def test_toml_bombs_are_refused_quickly_and_located(project, text, message):
    """tomllib recurses per level (a RecursionError) and is quadratic in a dotted key's parts."""
    (project / "lint.toml").write_text(text)
    start = time.monotonic()
    res = lint("s.arch", "--config", "lint.toml", cwd=project, timeout=60)
    assert res.returncode == 2, res.stderr[-1000:]
    assert message in res.stderr and "Traceback" not in res.stderr and "internal error" not in res.stderr
    assert "= help:" in res.stderr
    assert time.monotonic() - start < 30


def test_strings_and_comments_do_not_count_as_structure():
    deep = "[" * 500
    text = (
        f"# {deep} {'.'.join(['k'] * 100)}\n"
        f'a = "{deep}\\"{deep}"\nb = \'{deep}\'\nc = """\n{deep}\n"""\nd = \'\'\'{deep}\'\'\'\n'
        f'e = "{"." * 500}"\nf = [1.5, 2.5, {", ".join(["3.5"] * 500)}]\n'
    )
    tomlread.check_toml_shape(text, "x.toml")  # no error
    assert tomlread.read_toml.__doc__


def test_config_that_is_not_utf8_or_has_a_bom(project):
    (project / "lint.toml").write_bytes(b'select = ["AD102"]\nignore = ["\xff"]\n')
    res = lint("s.arch", "--config", "lint.toml", cwd=project)
    assert res.returncode == 2 and res.stderr.startswith("lint.toml:2:12: error: not UTF-8 text (byte 30)")
    (project / "lint.toml").write_bytes(b'\xef\xbb\xbfselect = ["AD102"]\n')
    res = lint("s.arch", "--config", "lint.toml", cwd=project)
    assert res.returncode == 1 and "error[AD102]" in res.stdout


def test_config_of_the_wrong_shape_is_a_usage_error_not_an_internal_error(project):
    (project / "pyproject.toml").write_text("tool = 1\n")  # not archdsl's: passed over
    res = lint("s.arch", "--select", "AD102", cwd=project)
    assert res.returncode == 1 and "internal error" not in res.stderr
    (project / "pyproject.toml").write_text("[tool.archdsl]\nlint = [1, 2]\n")
    res = lint("s.arch", cwd=project)
    assert res.returncode == 2 and "must be a table" in res.stderr and "= help:" in res.stderr
    (project / "lint.toml").write_text("tool = 1\n")
    res = lint("s.arch", "--config", "lint.toml", cwd=project)
    assert res.returncode == 2 and "unknown key 'tool'" in res.stderr


def test_results_file_special_or_deep_is_a_usage_error(project):
    (project / "pyproject.toml").write_text(
        '[tool.archdsl.lint]\npreset = "attendnext"\n[tool.archdsl.lint.rules.AD104]\nresults = "results.json"\n'
    )
    os.mkfifo(project / "results.json")
    res = lint("s.arch", cwd=project, timeout=60)
    assert res.returncode == 2 and "named pipe" in res.stderr and "= help:" in res.stderr
    os.unlink(project / "results.json")
    (project / "results.json").write_text("[" * 200_000 + "]" * 200_000)
    res = lint("s.arch", cwd=project, timeout=60)
    assert res.returncode == 2 and "internal error" not in res.stderr and "RecursionError" in res.stderr


def test_each_pyproject_is_read_once_for_many_folders(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.archdsl.lint]\nselect = ["AD102"]\n')
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "pyproject.toml").write_text('[project]\nname = "not ours"\n')
    folder = tmp_path / "deep"
    for i in range(30):
        folder = folder / f"d{i}"
        folder.mkdir()
        (folder / "s.arch").write_text(SPEC)
    import tomllib

    calls = []
    real = tomllib.loads
    monkeypatch.setattr(tomllib, "loads", lambda text: calls.append(1) or real(text))
    res = Linter().lint_paths([tmp_path / "deep"])
    assert len(res.files) == 30 and {f.code for f in res.findings} == {"AD102"}
    assert len(calls) == 2, f"{len(calls)} TOML parses for 2 pyproject.toml files"


# ---- specs that are not regular files --------------------------------------------------------


def test_a_fifo_spec_is_refused_without_blocking(project):
    os.mkfifo(project / "pipe.arch")
    res = lint("pipe.arch", cwd=project, timeout=60)
    assert res.returncode == 4 and "pipe.arch: error[E602]: 'pipe.arch' is a named pipe (FIFO)" in res.stdout
    res = lint(".", "--select", "AD102", cwd=project, timeout=60)
    assert res.returncode == 4 and "error[AD102]" in res.stdout and "E602" in res.stdout
    res = lint("/dev/zero", cwd=project, timeout=60)
    assert res.returncode == 4 and "character device" in res.stdout and "= help:" in res.stdout
