"""Every case of the hostile-input corpus (tests/hostile/) fails cleanly, quickly and in little memory.

See tests/hostile/harness.py for the case format and what is asserted. The selected cases run two
at a time (each in a process of its own: a child of a fork server, or a fresh interpreter where
the case needs one), and each test then judges its own case's outcome.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.hostile.harness import CASES, MAX_RSS_MB, MAX_SECONDS, ForkServers, all_cases, judge, run_case

ALL = all_cases()
BY_NAME = {c.name: c for c in ALL}
WORKERS = int(os.environ.get("ARCHDSL_HOSTILE_WORKERS", "2"))


def test_the_corpus_is_large_enough():
    assert len(ALL) >= 60, f"the hostile corpus has only {len(ALL)} cases"
    assert CASES.is_dir()


@pytest.fixture(scope="module")
def outcomes(request):
    """Run every selected case once, WORKERS at a time, each in a folder of its own under a private
    temporary root (not pytest's numbered folders, which other sessions on the machine prune)."""
    selected = [
        item.callspec.params["case"].name
        for item in request.session.items
        if item.originalname == "test_hostile_case" and hasattr(item, "callspec")
    ]
    root = Path(tempfile.mkdtemp(prefix="archdsl-hostile-"))

    def one(name: str):
        folder = root / name
        folder.mkdir()
        return name, run_case(BY_NAME[name], folder, servers)

    try:
        with ForkServers(root) as servers, ThreadPoolExecutor(max_workers=WORKERS) as pool:
            results = dict(pool.map(one, selected))
        yield results
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("case", ALL, ids=[c.name for c in ALL])
def test_hostile_case(case, outcomes):
    outcome = outcomes[case.name]
    problems = judge(case, outcome)
    assert not problems, (
        f"{case.name}: "
        + "; ".join(problems)
        + f"\n(limits {MAX_SECONDS} s, {MAX_RSS_MB} MB)\n--- output ---\n"
        + outcome.output[-3000:]
    )
