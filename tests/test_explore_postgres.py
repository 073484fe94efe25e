"""``archdsl explore`` on a real PostgreSQL server (a throw-away cluster on loopback, tests/postgres.py):
processes joining one study, as many machines would. No trial lost or duplicated."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("optuna")
pytest.importorskip("psycopg")

from tests.conftest import ROOT, run_cli

TINY = str(ROOT / "tests" / "fixtures" / "explore" / "tiny_search.arch")


def _trials(url, study):
    import optuna

    from archdsl.explore.storage import open_storage, parse_storage

    s = optuna.load_study(study_name=study, storage=open_storage(parse_storage(url)))
    return [(t.number, t.state.name) for t in s.get_trials(deepcopy=False)]


def _cmd(url, study, trials, *extra):
    return [
        sys.executable,
        "-m",
        "archdsl",
        "explore",
        TINY,
        "--objective",
        "params,a72_latency",
        "--storage",
        url,
        "--study",
        study,
        "--trials",
        str(trials),
        "--no-plot",
        *extra,
    ]


def test_two_concurrent_processes_join_one_study(postgres_url, tmp_path):
    # the first creates the study; then two processes (two "machines") run at once
    r = run_cli(*_cmd(postgres_url, "joint", 2, "--seed", "0", "-o", str(tmp_path / "o0"))[3:])
    assert r.returncode == 0, r.stderr
    env = {**os.environ, "NO_COLOR": "1"}
    procs = [
        subprocess.Popen(
            _cmd(postgres_url, "joint", 6, "--seed", str(i + 1), "-o", str(tmp_path / f"o{i + 1}")),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    trials = _trials(postgres_url, "joint")
    assert sorted(n for n, _ in trials) == list(range(14))  # 2 + 6 + 6: the sum, no number twice
    assert all(s == "COMPLETE" for _, s in trials)
    shown = run_cli("explore", "show", "joint", "--storage", postgres_url)
    assert shown.returncode == 0 and "study joint: 14 trials" in shown.stdout


def test_two_local_workers_on_postgresql(postgres_url, tmp_path):
    r = run_cli(*_cmd(postgres_url, "local", 10, "--workers", "2", "--seed", "0", "-o", str(tmp_path / "o"))[3:])
    assert r.returncode == 0, r.stderr
    trials = _trials(postgres_url, "local")
    assert sorted(n for n, _ in trials) == list(range(10))
    assert all(s == "COMPLETE" for _, s in trials)
    r = run_cli(*_cmd(postgres_url, "local", 4, "--workers", "2", "--seed", "0", "-o", str(tmp_path / "o"))[3:])
    assert r.returncode == 0, r.stderr
    assert sorted(n for n, _ in _trials(postgres_url, "local")) == list(range(14))
