"""Regenerate the golden outputs of the language-core fixtures (tests/fixtures/{valid,invalid}).

Run after an intended change of a diagnostic or of the summary table, then review the diff:
    python scripts/regen_core_goldens.py
Each invalid fixture X.arch gets X.expected (what `archdsl check X.arch` prints, run from the
fixture folder); each valid fixture gets X.expected with `archdsl show X.arch --depth 2`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    return subprocess.run([sys.executable, "-m", "archdsl", *args], cwd=cwd, env=env, capture_output=True, text=True)


def invalid_cases() -> list[Path]:
    folder = FIXTURES / "invalid"
    cases = sorted(folder.glob("*.arch"))
    cases += sorted(p / "a.arch" for p in folder.iterdir() if p.is_dir())
    return cases


def expected_invalid(path: Path) -> str:
    res = run(["check", path.name], path.parent)
    return f"exit {res.returncode}\n{res.stderr}"


def expected_valid(path: Path) -> str:
    res = run(["show", path.name, "--depth", "2"], path.parent)
    return f"exit {res.returncode}\n{res.stdout}{res.stderr}"


def main() -> None:
    for p in invalid_cases():
        p.with_suffix(".expected").write_text(expected_invalid(p))
    for p in sorted((FIXTURES / "valid").glob("*.arch")):
        p.with_suffix(".expected").write_text(expected_valid(p))
    print("regenerated goldens under", FIXTURES)


if __name__ == "__main__":
    main()
