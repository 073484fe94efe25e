"""Write docs/rules/<CODE>.md (one page per built-in lint rule) and docs/rules/README.md (the code
table) from the rules' docstrings and the registry.

    python scripts/gen_rule_docs.py          # write the pages
    python scripts/gen_rule_docs.py --check  # exit 1 if a page is missing or out of date

tests/test_lint_docs.py runs the check, so a docstring edit without regenerating fails CI.
"""

from __future__ import annotations

import sys
from pathlib import Path

from archdsl.rules.docs import pages
from archdsl.rules.registry import build_registry

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "rules"


def stale(out: Path = OUT) -> list[str]:
    """Pages that differ from what the registry generates (and generated-looking pages nobody owns)."""
    want = pages(build_registry())
    bad = [name for name, text in want.items() if not (out / name).is_file() or (out / name).read_text() != text]
    bad += [p.name for p in out.glob("*.md") if p.name not in want]
    return sorted(bad)


def main(argv: list[str]) -> int:
    if "--check" in argv:
        bad = stale()
        if bad:
            print("out of date: " + ", ".join(bad) + "\nrun: python scripts/gen_rule_docs.py", file=sys.stderr)
            return 1
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    want = pages(build_registry())
    for name, text in want.items():
        (OUT / name).write_text(text, encoding="utf-8")
    for p in OUT.glob("*.md"):
        if p.name not in want:
            p.unlink()
    print(f"wrote {len(want)} pages to {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
