"""Golden fixtures of the language core: what `archdsl check` prints for invalid specs, and what
`archdsl show --depth 2` prints for valid ones. Regenerate with scripts/regen_core_goldens.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("regen", ROOT / "scripts" / "regen_core_goldens.py")
regen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(regen)

INVALID = regen.invalid_cases()
VALID = sorted((ROOT / "tests" / "fixtures" / "valid").glob("*.arch"))


def test_there_are_enough_invalid_fixtures():
    assert len(INVALID) >= 25


@pytest.mark.parametrize("path", INVALID, ids=[p.stem if p.name != "a.arch" else p.parent.name for p in INVALID])
def test_invalid_spec_diagnostics(path: Path):
    expected = path.with_suffix(".expected").read_text()
    got = regen.expected_invalid(path)
    assert got == expected
    assert got.startswith("exit 1\n")
    assert "Traceback" not in got
    # every diagnostic is located: file:line:col and a caret under the source line
    first = got.splitlines()[1]
    assert first.split(":")[1].isdigit() and first.split(":")[2].isdigit(), first
    assert "^" in got


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_spec_summary(path: Path):
    expected = path.with_suffix(".expected").read_text()
    assert regen.expected_valid(path) == expected
