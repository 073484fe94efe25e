"""Generate grammars/arch_tables.json, the parse tables shipped instead of a Lark cache.

Run after every change of grammars/arch.lark or of the Lark version in constraints.txt:
    python scripts/gen_parser_tables.py          # write the tables
    python scripts/gen_parser_tables.py --check  # exit 1 if the committed tables are stale
The tables are plain JSON (no pickle); archdsl/syntax/tables.py says why and how they are loaded.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archdsl_grammars import grammar_text  # noqa: E402

from archdsl.fileio import atomic_write  # noqa: E402
from archdsl.syntax.tables import TABLES_FILE, tables_json  # noqa: E402

TARGET = ROOT / "grammars" / TABLES_FILE


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only compare with the committed tables")
    args = ap.parse_args(argv)
    text = tables_json(grammar_text())
    current = TARGET.read_text(encoding="utf-8") if TARGET.is_file() else None
    if args.check:
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is stale: run python scripts/gen_parser_tables.py", file=sys.stderr)
            return 1
        print(f"{TARGET.relative_to(ROOT)} is up to date")
        return 0
    if current != text:
        atomic_write(TARGET, text)
        print(f"wrote {TARGET.relative_to(ROOT)} ({len(text):,} bytes)")
    else:
        print(f"{TARGET.relative_to(ROOT)} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
