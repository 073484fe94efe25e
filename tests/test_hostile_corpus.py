"""Every case of the hostile-input corpus (tests/hostile/) fails cleanly, quickly and in little memory.

See tests/hostile/harness.py for the case format and what is asserted.
"""

from __future__ import annotations

import pytest

from tests.hostile.harness import CASES, MAX_RSS_MB, MAX_SECONDS, all_cases, judge, run_case

ALL = all_cases()


def test_the_corpus_is_large_enough():
    assert len(ALL) >= 60, f"the hostile corpus has only {len(ALL)} cases"
    assert CASES.is_dir()


@pytest.mark.parametrize("case", ALL, ids=[c.name for c in ALL])
def test_hostile_case(case, tmp_path):
    outcome = run_case(case, tmp_path)
    problems = judge(case, outcome)
    assert not problems, (
        f"{case.name}: "
        + "; ".join(problems)
        + f"\n(limits {MAX_SECONDS} s, {MAX_RSS_MB} MB)\n--- output ---\n"
        + outcome.output[-3000:]
    )
