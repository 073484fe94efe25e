"""``archdsl fmt`` as a user meets it: files, folders, stdin, --check, --diff, errors, exit codes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from archdsl.fmt import format_text
from tests.conftest import ROOT, run_cli
from tests.test_cli_core import BLOCKER

MESSY = "net messy{a=conv( 3 ,k=3)->bn   # why\nb=a->relu}\n"
TIDY = "net messy {\n    a = conv(3, k = 3) -> bn  # why\n    b = a -> relu\n}\n"
BROKEN = "net broken {\n    a = conv(3 +)\n}\n"


def _stdin(data: bytes, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "archdsl", "fmt", *args],
        cwd=ROOT,
        input=data,
        capture_output=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A folder of specs: two messy, one broken, the rest (copies of specs/) formatted."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    (tmp_path / "specs" / "messy.arch").write_text(MESSY)
    (tmp_path / "specs" / "sub").mkdir()
    (tmp_path / "specs" / "sub" / "also_messy.arch").write_text(MESSY.replace("messy", "other"))
    (tmp_path / "specs" / "broken.arch").write_text(BROKEN)
    (tmp_path / "specs" / ".hidden").mkdir()
    (tmp_path / "specs" / ".hidden" / "skipped.arch").write_text(MESSY)
    return tmp_path / "specs"


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_ino) for p in sorted(folder.rglob("*.arch"))}


def test_the_repository_is_formatted():
    """CI runs this: every spec and the std library are in the canonical layout."""
    res = run_cli("fmt", "--check", "specs/", "archdsl/stdlib/std.arch")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout == ""
    assert "already formatted" in res.stderr


def test_a_folder_is_formatted_in_place_and_only_what_changes_is_written(tree):
    before = _snapshot(tree)
    res = run_cli("fmt", str(tree))
    assert res.returncode == 1, res.stderr  # the broken file
    after = _snapshot(tree)
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"messy.arch", "sub/also_messy.arch"}
    assert (tree / "messy.arch").read_text() == TIDY
    assert after["broken.arch"] == before["broken.arch"], "a file that does not parse is left untouched"
    assert after[".hidden/skipped.arch"] == before[".hidden/skipped.arch"], "hidden folders are skipped, as lint does"
    assert f"{tree / 'broken.arch'}:2:17: error[E100]: unexpected ')'" in res.stderr
    assert "2 files reformatted" in res.stderr and "already formatted" in res.stderr
    assert not [p for p in tree.rglob("*") if p.name.endswith(".tmp")], "no temporary file is left behind"
    again = run_cli("fmt", "--check", str(tree / "messy.arch"), str(tree / "sub"))
    assert again.returncode == 0, again.stdout + again.stderr


def test_check_names_the_files_that_would_change_and_writes_nothing(tree):
    before = _snapshot(tree)
    res = run_cli("fmt", "--check", str(tree / "messy.arch"), str(tree / "sub"), str(tree / "attendnext.arch"))
    assert res.returncode == 1
    assert res.stdout.splitlines() == [str(tree / "messy.arch"), str(tree / "sub" / "also_messy.arch")]
    assert "2 files would be reformatted, 1 file already formatted" in res.stderr
    assert "= help:" in res.stderr
    assert _snapshot(tree) == before


def test_diff_prints_a_unified_diff_and_writes_nothing(tree):
    before = _snapshot(tree)
    res = run_cli("fmt", "--diff", str(tree / "messy.arch"), str(tree / "attendnext.arch"))
    assert res.returncode == 1
    assert res.stdout.startswith(f"--- {tree / 'messy.arch'}\n+++ {tree / 'messy.arch'}\n@@ ")
    assert "-net messy{a=conv( 3 ,k=3)->bn   # why\n" in res.stdout
    assert "+    a = conv(3, k = 3) -> bn  # why\n" in res.stdout
    assert "attendnext" not in res.stdout
    assert _snapshot(tree) == before
    if shutil.which("patch"):  # the diff applies and gives the formatted file
        subprocess.run(["patch", "-s", "-p0"], input=res.stdout, text=True, cwd="/", check=True)
        assert (tree / "messy.arch").read_text() == TIDY


def test_diff_and_check_of_formatted_files_exit_0(tree):
    for flag in ("--diff", "--check"):
        res = run_cli("fmt", flag, str(tree / "attendnext.arch"), str(tree / "baselines"))
        assert res.returncode == 0 and res.stdout == "", res.stdout + res.stderr


def test_stdin_to_stdout():
    res = _stdin(MESSY.encode(), "-")
    assert res.returncode == 0, res.stderr
    assert res.stdout.decode() == TIDY
    assert res.stderr == b""


def test_stdin_with_check_and_diff():
    res = _stdin(MESSY.encode(), "--check", "-")
    assert (res.returncode, res.stdout) == (1, b"<stdin>\n")
    res = _stdin(TIDY.encode(), "--check", "-")
    assert (res.returncode, res.stdout) == (0, b"")
    res = _stdin(MESSY.encode(), "--diff", "-")
    assert res.returncode == 1 and res.stdout.startswith(b"--- <stdin>\n+++ <stdin>\n")


def test_stdin_that_does_not_parse_prints_nothing_on_stdout():
    res = _stdin(BROKEN.encode(), "-")
    assert res.returncode == 1 and res.stdout == b""
    assert b"<stdin>:2:17: error[E100]" in res.stderr


def test_stdin_that_is_not_utf8_is_located():
    res = _stdin(b"net x {\n    a = conv(\xff)\n}\n", "-")
    assert res.returncode == 1 and res.stdout == b""
    assert b"<stdin>:2:14: error[E107]" in res.stderr


def test_stdin_cannot_be_mixed_with_files():
    res = run_cli("fmt", "-", "specs/attendnext.arch")
    assert res.returncode == 2 and "= help:" in res.stderr


def test_no_paths_is_a_usage_error():
    assert run_cli("fmt").returncode == 2


def test_files_are_refused_as_check_refuses_them(tmp_path):
    bad = tmp_path / "latin1.arch"
    bad.write_bytes(b"# caf\xe9\nnet x {}\n")
    os.mkfifo(tmp_path / "pipe.arch")  # nobody writes: reading it would block for ever
    res = run_cli("fmt", str(bad), str(tmp_path / "pipe.arch"), str(tmp_path / "mising.arch"), timeout=60)
    assert res.returncode == 1
    assert f"{bad}:1:6: error[E107]" in res.stderr
    assert "is a named pipe (FIFO), not a regular file" in res.stderr
    assert "error[E602]: file" in res.stderr and "not found" in res.stderr
    assert bad.read_bytes() == b"# caf\xe9\nnet x {}\n"
    check = run_cli("check", str(bad))
    assert "error[E107]" in check.stderr  # the same refusal


def test_a_folder_with_a_fifo_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "pipe.arch")
    (tmp_path / "ok.arch").write_text(MESSY)
    res = run_cli("fmt", str(tmp_path), timeout=60)
    assert res.returncode == 1 and "named pipe" in res.stderr
    assert (tmp_path / "ok.arch").read_text() == TIDY


def test_line_ends_and_bom_are_normalised(tmp_path):
    f = tmp_path / "crlf.arch"
    f.write_bytes(b"\xef\xbb\xbf" + TIDY.replace("\n", "\r\n").encode())
    res = run_cli("fmt", "--check", str(f))
    assert res.returncode == 1 and res.stdout == f"{f}\n"
    assert run_cli("fmt", str(f)).returncode == 0
    assert f.read_bytes() == TIDY.encode()


def test_the_file_keeps_its_mode_and_a_link_stays_a_link(tmp_path):
    target = tmp_path / "real.arch"
    target.write_text(MESSY)
    target.chmod(0o640)
    link = tmp_path / "link.arch"
    link.symlink_to(target)
    assert run_cli("fmt", str(link)).returncode == 0
    assert link.is_symlink() and target.read_text() == TIDY
    assert (target.stat().st_mode & 0o777) == 0o640


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write a read-only file")
def test_a_file_that_cannot_be_written_is_exit_3_and_left_alone(tmp_path):
    f = tmp_path / "ro.arch"
    f.write_text(MESSY)
    f.chmod(0o444)
    res = run_cli("fmt", str(f))
    assert res.returncode == 3 and "cannot write" in res.stderr and "= help:" in res.stderr
    assert f.read_text() == MESSY


def test_a_formatter_bug_never_reaches_the_file(tmp_path, monkeypatch, capsys):
    """Should the layout ever lose or change a token, fmt refuses (exit 3) instead of writing."""
    import archdsl.fmt as fmtmod
    from archdsl.cli import main

    f = tmp_path / "x.arch"
    f.write_text(MESSY)
    real = fmtmod.render
    monkeypatch.setattr(fmtmod, "render", lambda doc, width: real(doc, width).replace("relu", "relu6"))
    with pytest.raises(AssertionError):
        format_text(MESSY)
    monkeypatch.setattr(sys, "argv", ["archdsl", "fmt", str(f)])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 3
    assert f.read_text() == MESSY
    assert "internal error" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["fmt", "--check", "specs/attendnext.arch"], ["fmt", "--diff", "specs/"]])
def test_fmt_imports_no_torch_or_onnx(args):
    res = subprocess.run([sys.executable, "-c", BLOCKER, *args], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "blocked heavy import" not in res.stderr


def test_fmt_from_stdin_imports_no_torch_or_onnx():
    res = subprocess.run(
        [sys.executable, "-c", BLOCKER, "fmt", "-"], cwd=ROOT, input=MESSY, capture_output=True, text=True
    )
    assert res.returncode == 0 and res.stdout == TIDY, res.stderr


def test_the_pre_commit_hook_runs_fmt_on_arch_files(tmp_path):
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    hook = hooks["archdsl-fmt"]
    assert hook["language"] == "python" and hook["files"] == r"\.arch$"
    assert hook["entry"].split()[:2] == ["archdsl", "fmt"]
    # pre-commit runs the entry with the commit's files: they get formatted, exit 0
    (tmp_path / "a.arch").write_text(MESSY)
    (tmp_path / "b.arch").write_text(TIDY)
    res = run_cli(*hook["entry"].split()[1:], str(tmp_path / "a.arch"), str(tmp_path / "b.arch"))
    assert res.returncode == 0 and res.stdout == "" and res.stderr == ""
    assert (tmp_path / "a.arch").read_text() == TIDY


def test_help_lists_fmt():
    res = run_cli("--help")
    assert "fmt" in res.stdout
    res = run_cli("fmt", "--help")
    assert res.returncode == 0 and "--check" in res.stdout and "--diff" in res.stdout
