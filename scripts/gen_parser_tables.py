"""Generate grammars/arch_tables.json and arch_runtime.json, the parse tables shipped instead of a Lark cache.

Run after every change of grammars/arch.lark or of the Lark version in constraints.txt:
    python scripts/gen_parser_tables.py          # write the tables
    python scripts/gen_parser_tables.py --check  # exit 1 if the committed tables are stale
The tables are plain JSON (no pickle); archdsl/syntax/tables.py says why and how they are loaded;
arch_runtime.json is what archdsl's own parser reads (archdsl/syntax/lalr.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archdsl_grammars import grammar_text  # noqa: E402

from archdsl.fileio import atomic_write  # noqa: E402
from archdsl.syntax.lalr import RUNTIME_FILE  # noqa: E402
from archdsl.syntax.tables import TABLES_FILE, runtime_json, tables_json  # noqa: E402

TARGET = ROOT / "grammars" / TABLES_FILE
RUNTIME = ROOT / "grammars" / RUNTIME_FILE


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only compare with the committed tables")
    args = ap.parse_args(argv)
    stale = 0
    for target, text in ((TARGET, tables_json(grammar_text())), (RUNTIME, runtime_json(grammar_text()))):
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        if current == text:
            print(f"{target.relative_to(ROOT)} is up to date")
        elif args.check:
            print(f"{target.relative_to(ROOT)} is stale: run python scripts/gen_parser_tables.py", file=sys.stderr)
            stale = 1
        else:
            atomic_write(target, text)
            print(f"wrote {target.relative_to(ROOT)} ({len(text):,} bytes)")
    return stale


if __name__ == "__main__":
    sys.exit(main())
