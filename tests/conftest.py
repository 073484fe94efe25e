"""Shared fixtures: the spec zoo, paths, and a helper to run the CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(p for p in (ROOT / "specs").rglob("*.arch"))


def spec_ids(paths):
    return [str(p.relative_to(ROOT / "specs")) for p in paths]


@pytest.fixture(params=SPECS, ids=spec_ids(SPECS))
def spec_path(request) -> Path:
    """Every spec under specs/ (parametrized)."""
    return request.param


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: int = 120):
    """Run ``python -m archdsl`` as a user would; returns the CompletedProcess.

    With ``ARCHDSL_TEST_FORK_CLI=1`` the command runs in a child of a fork server that imported
    archdsl once (tests/cli_server.py) unless ``env`` changes the environment."""
    from tests import cli_server

    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    done = cli_server.run([str(a) for a in args], cwd or ROOT, full_env, timeout)
    if done is not None:
        return done
    return subprocess.run(
        [sys.executable, "-m", "archdsl", *args],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def torch_one_thread():
    """One intra-op thread for a torch test module: on a shared two-core machine, OpenMP
    spin-waiting otherwise costs minutes. Restores the thread count afterwards."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def postgres_url():
    """The URL of a throw-away PostgreSQL server on loopback (tests/postgres.py), for the session.

    Skips when the server binaries are not installed, unless CI is set: then it fails (CI installs
    the postgresql package, .ci/run)."""
    from tests.postgres import find_bindir, start_cluster

    if find_bindir() is None:
        reason = "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin; apt-get install postgresql)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason + " — CI must install them")
        pytest.skip(reason)
    cluster = start_cluster()
    try:
        yield cluster.url
    finally:
        cluster.stop()
