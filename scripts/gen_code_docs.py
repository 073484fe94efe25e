"""Write docs/errors.md (every E and B diagnostic code, its kind and exit code, the retired codes)
from the table in archdsl/codes.py.

    python scripts/gen_code_docs.py          # write the page
    python scripts/gen_code_docs.py --check  # exit 1 if the page is out of date

tests/test_codes.py runs the check, so a change to the table without regenerating fails CI.
"""

from __future__ import annotations

import sys
from pathlib import Path

from archdsl import codes

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "errors.md"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def page() -> str:
    """The whole of docs/errors.md."""
    out = [
        "# Error codes",
        "",
        "<!-- generated from archdsl/codes.py by scripts/gen_code_docs.py: edit the table there, then rerun -->",
        "",
        "Every diagnostic archdsl prints has a code: `file:line:col: error[E302]: message`. `E` codes",
        "come from reading and resolving a spec, `B` codes from backends (and what all of them share).",
        "Lint findings have codes of two letters and three digits (`AR206`): they are listed in",
        "[rules/](rules/README.md) and defined in `archdsl/rules/registry.py`.",
        "",
        "## Exit codes",
        "",
        "A code's *kind* decides the command's exit status (when several errors are printed, the",
        "highest wins). Lint has its own: 1 for findings, 4 when a spec does not compile; see",
        "[cli.md](cli.md#exit-codes).",
        "",
        "| kind | exit | meaning |",
        "|---|---:|---|",
    ]
    out += [f"| `{k.value}` | {codes.EXIT[k]} | {codes.KIND_MEANING[k]} |" for k in codes.Kind]
    out += [
        "",
        "## Ranges",
        "",
        "Each layer and each backend has its own range, so no code has two meanings. A code is never",
        "reused: when a meaning moves, the old code is retired and listed [below](#retired-codes).",
        "",
        "| range | owner | where | what |",
        "|---|---|---|---|",
    ]
    for r in codes.RANGES:
        span = f"{r.first[0]}{r.first[1]}xx"
        where = ", ".join(f"`{w.strip()}`" if "/" in w else w.strip() for w in r.where.split(","))
        out.append(f"| {span} | {r.owner} | {where} | {r.about} |")
    for r in codes.RANGES:
        rows = [c for c in codes.CODES.values() if r.holds(c.code)]
        if not rows:
            continue
        out += [
            "",
            f"## {r.first[0]}{r.first[1]}xx: {r.about}",
            "",
            "| code | name | kind (exit) | meaning |",
            "|---|---|---|---|",
        ]
        out += [f"| `{c.code}` | `{c.name}` | {c.kind.value} ({c.exit}) | {_cell(c.summary)} |" for c in rows]
    out += [
        "",
        "## Retired codes",
        "",
        "Codes that meant something else before (until issue 13, `B101`–`B103` meant different",
        "things in each backend). Each old meaning points at the code that has it now.",
        "",
        "| old | in | meant | now |",
        "|---|---|---|---|",
    ]
    for rd in codes.REDIRECTS:
        now = ", ".join(f"`{n}`" for n in rd.new) if rd.new else "(no code: never raised)"
        out.append(f"| `{rd.old}` | {rd.owner} | {_cell(rd.meant)} | {now} |")
    out += [
        "",
        "`B101` keeps its torch meaning (a path that cannot name a submodule). A third-party backend",
        "uses the shared codes where they fit (`B001` via `archdsl.backend.unsupported_op`, `B004`–`B006`",
        "from its options model) and its own in `B9xx`; see [backends.md](backends.md).",
        "",
    ]
    return "\n".join(out)


def stale(out: Path = OUT) -> bool:
    return not out.is_file() or out.read_text(encoding="utf-8") != page()


def main(argv: list[str]) -> int:
    if "--check" in argv:
        if stale():
            print(f"out of date: {OUT.relative_to(ROOT)}\nrun: python scripts/gen_code_docs.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(page(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(codes.CODES)} codes, {len(codes.REDIRECTS)} redirects)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
