"""``archdsl explore`` on the command line: outputs (every written design passes check and lint),
JSON, ``show``, Ctrl-C and resume, and clean usage errors."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

pytest.importorskip("optuna")

from tests.conftest import ROOT, run_cli

TINY = str(ROOT / "tests" / "fixtures" / "explore" / "tiny_search.arch")


def _no_traceback(r):
    assert "Traceback" not in r.stderr + r.stdout and "bug in archdsl" not in r.stderr


def test_every_pareto_design_is_written_and_passes_check_and_lint(tmp_path):
    out = tmp_path / "out"
    r = run_cli(
        "explore",
        TINY,
        "--objective",
        "params",
        "--objective",
        "a72_latency",
        "--trials",
        "12",
        "--seed",
        "0",
        "--storage",
        str(tmp_path / "s.db"),
        "-o",
        str(out),
        "--plot",
        str(tmp_path / "front.png"),
    )
    assert r.returncode == 0, r.stderr
    _no_traceback(r)
    files = sorted(out.glob("*.arch"))
    assert files and "Pareto-optimal" in r.stdout
    for f in files:
        text = f.read_text()
        assert text.startswith('import "') and "# Trial " in text and "extends tiny(" in text
        assert "# objectives: params = " in text and "# constraints: AD102 clean" in text
        assert text == _formatted(text, f)
        for cmd in ("check", "lint"):
            c = run_cli(cmd, str(f))
            assert c.returncode == 0, (cmd, f, c.stdout, c.stderr)
    assert (tmp_path / "front.png").read_bytes().startswith(b"\x89PNG")


def _formatted(text, f):
    from archdsl.fmt import format_text

    return format_text(text, str(f))


def test_json_and_show_agree_and_the_plot_is_deterministic(tmp_path):
    db = str(tmp_path / "s.db")
    r = run_cli(
        "explore",
        TINY,
        "--objective",
        "params:min",
        "--trials",
        "10",
        "--seed",
        "2",
        "--storage",
        db,
        "--format",
        "json",
        "-o",
        str(tmp_path / "o"),
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["trials"]["total"] == 10 and data["pareto"] and all(p["feasible"] for p in data["pareto"])
    plots = []
    for i in range(2):
        s = run_cli(
            "explore", "show", "tiny_search", "--storage", db, "--format", "json", "--plot", str(tmp_path / f"p{i}.svg")
        )
        assert s.returncode == 0, s.stderr
        shown = json.loads(s.stdout)
        assert shown["pareto"] == data["pareto"] and shown["objectives"] == data["objectives"]
        plots.append((tmp_path / f"p{i}.svg").read_bytes())
    assert plots[0] == plots[1]
    t = run_cli("explore", "show", "tiny_search", "--storage", db)
    assert t.returncode == 0 and "trial" in t.stdout and "params" in t.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--objective", "latncy"], "did you mean 'latency'"),
        (["--objective", "params:upward"], "unknown direction"),
        (["--storage", "mysql://h/db"], "unsupported storage"),
        (["--storage", "postgresql://h:port/db"], "malformed PostgreSQL URL"),
        (["--constraint", "AD1O2"], "did you mean 'AD102'"),
        (["--sampler", "nsga"], "did you mean 'nsga2'"),
        (["--format", "yaml"], "choose 'text' or 'json'"),
    ],
)
def test_usage_errors_exit_2_without_traceback(tmp_path, args, needle):
    r = run_cli("explore", TINY, "--storage", str(tmp_path / "s.db"), *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert needle in r.stderr
    _no_traceback(r)


def test_show_of_a_missing_study_or_storage(tmp_path):
    r = run_cli("explore", "show", "nope", "--storage", str(tmp_path / "none.db"))
    assert r.returncode == 2 and "does not exist" in r.stderr
    run_cli("explore", TINY, "--trials", "1", "--storage", str(tmp_path / "s.db"), "--no-plot")
    r = run_cli("explore", "show", "tiny_serch", "--storage", str(tmp_path / "s.db"))
    assert r.returncode == 2 and "did you mean 'tiny_search'" in r.stderr
    _no_traceback(r)


def test_a_file_without_a_space_is_a_located_spec_error(tmp_path):
    r = run_cli("explore", str(ROOT / "specs" / "attendnext.arch"), "--storage", str(tmp_path / "s.db"))
    assert r.returncode == 1 and "E346" in r.stderr
    _no_traceback(r)


def test_an_unreachable_postgresql_server_is_a_tool_failure(tmp_path):
    r = run_cli("explore", TINY, "--storage", "postgresql://nobody@127.0.0.1:1/none", "--trials", "1")
    assert r.returncode == 3 and "cannot open storage" in r.stderr
    _no_traceback(r)


def _complete(db) -> list[tuple[int, str]]:
    try:
        with sqlite3.connect(db, timeout=30) as c:
            return c.execute("select number, state from trials order by number").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []


@pytest.mark.parametrize("workers", [1, 2])
def test_sigint_stops_cleanly_and_rerunning_resumes(tmp_path, workers):
    db = tmp_path / "s.db"
    cmd = [
        sys.executable,
        "-m",
        "archdsl",
        "explore",
        TINY,
        "--objective",
        "params",
        "--trials",
        "100000",
        "--timeout",
        "300",
        "--storage",
        str(db),
        "--no-plot",
        "-o",
        str(tmp_path / "o"),
        "--seed",
        "0",
        "--workers",
        str(workers),
    ]
    p = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"}
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and sum(s == "COMPLETE" for _, s in _complete(db)) < 3:
        time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    first = _complete(db)
    assert first and all(s == "COMPLETE" for _, s in first), first  # the running trials finished: none lost
    r = run_cli(
        "explore",
        TINY,
        "--objective",
        "params",
        "--trials",
        "3",
        "--storage",
        str(db),
        "--no-plot",
        "-o",
        str(tmp_path / "o"),
        "--seed",
        "0",
    )
    assert r.returncode == 0, r.stderr
    after = _complete(db)
    assert [n for n, _ in after] == list(range(len(first) + 3))
    assert all(s == "COMPLETE" for _, s in after)


def _stderr_on_a_terminal(args) -> tuple[int, bytes]:
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "archdsl", "explore", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**os.environ, "COLUMNS": "120"},
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    proc.communicate(timeout=120)
    os.close(master)
    return proc.returncode, seen


def test_the_progress_bar_shows_on_a_terminal_only(tmp_path):
    args = [TINY, "--objective", "params", "--trials", "4", "--seed", "0", "--no-plot", "-o", str(tmp_path / "o")]
    rc, seen = _stderr_on_a_terminal([*args, "--storage", str(tmp_path / "a.db")])
    assert rc == 0 and b"explore" in seen and b"/4" in seen
    piped = run_cli("explore", *args, "--storage", str(tmp_path / "b.db"))
    assert piped.returncode == 0 and "/4" not in piped.stderr


def test_show_writes_the_designs_run_wrote(tmp_path):
    """`explore show -o` writes the Pareto designs of a stored study, byte for byte what the run wrote."""
    db = str(tmp_path / "s.db")
    r = run_cli("explore", TINY, "--objective", "params:min", "--objective", "macs:max", "--trials", "8",
                "--seed", "3", "--storage", db, "--no-plot", "-o", str(tmp_path / "run"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    s = run_cli("explore", "show", "tiny_search", "--storage", db, "-o", str(tmp_path / "show"))
    assert s.returncode == 0, s.stderr
    ran = {p.name: p.read_bytes() for p in (tmp_path / "run").glob("*.arch")}
    shown = {p.name: p.read_bytes() for p in (tmp_path / "show").glob("*.arch")}
    assert ran and shown == ran
    c = run_cli("check", *[str(p) for p in (tmp_path / "show").glob("*.arch")])
    assert c.returncode == 0, c.stderr
    # a study whose space file moved: named with --space-file, or a clear error
    moved = tmp_path / "moved.db"
    moved.write_bytes((tmp_path / "s.db").read_bytes())
    gone = run_cli("explore", "show", "tiny_search", "--storage", str(moved), "-o", str(tmp_path / "x"),
                   "--space-file", str(tmp_path / "nope.arch"))  # fmt: skip
    assert gone.returncode == 2 and "is not there" in gone.stderr and "--space-file" in gone.stderr
    _no_traceback(gone)
    (tmp_path / "afile").write_text("")
    f = run_cli("explore", "show", "tiny_search", "--storage", db, "-o", str(tmp_path / "afile"))
    assert f.returncode == 2 and "is a file" in f.stderr
