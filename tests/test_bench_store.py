"""The results store: keys, newest-per-key, and concurrent writers losing nothing."""

from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
import sys

import pytest

from archdsl.bench.store import Store, StoreError
from tests.conftest import ROOT

SPECS = [ROOT / "specs" / "attendnext.arch", *sorted((ROOT / "specs" / "baselines").glob("*.arch"))]


def _row(net="n", target="a72", threads=4, median=0.01, **extra):
    return {
        "session": "s",
        "spec_path": f"{net}.arch",
        "net": net,
        "spec_hash": f"hash-{net}",
        "params": {},
        "input_shape": [[3, 8, 8]],
        "target": target,
        "estimate": target == "a72",
        "settings": {"warmup": 0, "runs": 1, "threads": threads, "batch": 1, "seed": 0, "options": {}},
        "versions": {"archdsl": "0.1.0"},
        "env": {"device": target},
        "timings": [median],
        "median_s": median,
        "p90_s": median,
        "p99_s": median,
        "std_s": 0.0,
        "throughput": 1 / median,
        "total_params": 10,
        "total_macs": 20,
        "meta": {"imagenet_top1": 70.0},
        **extra,
    }


def test_round_trip_keys_and_latest(tmp_path):
    path = tmp_path / "sub" / "r.sqlite"
    with Store(path) as st:
        a = st.add(_row("a", median=0.02))
        b = st.add(_row("a", median=0.01))  # same key, newer
        c = st.add(_row("a", threads=1, median=0.05))  # other settings
        d = st.add(_row("b", target="host"))
        rows = st.rows()
        assert [r["id"] for r in rows] == [a, b, c, d]
        assert rows[0]["timings"] == [0.02] and rows[0]["meta"] == {"imagenet_top1": 70.0}
        assert rows[0]["estimate"] is True and rows[3]["estimate"] is False
        assert rows[0]["settings_hash"] == rows[1]["settings_hash"] != rows[2]["settings_hash"]
        assert rows[0]["versions_hash"] == rows[3]["versions_hash"]
        assert [r["id"] for r in st.latest()] == [b, c, d]
        assert [r["id"] for r in st.latest("host")] == [d]
        assert st.targets() == ["a72", "host"]
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "r.sqlite"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version 99"):
        Store(path)


def _writer(path: str, tag: str, n: int) -> None:
    with Store(path) as st:
        for i in range(n):
            st.add(_row(f"{tag}{i}", session=tag))


def test_concurrent_writers_lose_nothing(tmp_path):
    path = str(tmp_path / "r.sqlite")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, tag, 150)) for tag in ("p", "q", "r")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with Store(path) as st:
        rows = st.rows()
    assert len(rows) == 450
    assert {r["net"] for r in rows} == {f"{t}{i}" for t in "pqr" for i in range(150)}


def test_two_concurrent_bench_runs_lose_nothing(tmp_path):
    """Concurrent `archdsl bench` processes (two per thread count, six at once) on one store: no row lost."""
    store = tmp_path / "results.sqlite"
    args = [*map(str, SPECS), "--target", "a72", "--store", str(store), "--quiet"]
    cmds = []
    for threads in ("1", "2", "4"):
        cmds.append([sys.executable, "-m", "archdsl", "bench", *args, "--threads", threads])
    procs = [subprocess.Popen(c, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in cmds]
    procs += [subprocess.Popen(c, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in cmds]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with Store(store) as st:
        rows = st.rows()
        assert len(rows) == 6 * len(SPECS)
        assert len({r["session"] for r in rows}) == 6
        assert len(st.latest()) == 3 * len(SPECS)  # newest per spec x thread count
    assert {r["settings"]["threads"] for r in rows} == {1, 2, 4}
