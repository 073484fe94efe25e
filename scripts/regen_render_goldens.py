"""Regenerate the golden DOT files of the graphviz backend (tests/golden/render/).

Run after an intended change of the drawing (or of specs/attendnext.arch), then review the diff:
    python scripts/regen_render_goldens.py           # rewrite the goldens
    python scripts/regen_render_goldens.py --check   # exit 1 if any golden is out of date
The DOT text needs no Graphviz installation. tests/test_render.py compares against these files,
using the GOLDENS table below.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_DIR = ROOT / "tests" / "golden" / "render"

# file name -> (spec under the repo root, render options)
GOLDENS: dict[str, tuple[str, dict]] = {
    "attendnext.blocks.dot": ("specs/attendnext.arch", {"depth": 2}),
    "attendnext.ops.dot": ("specs/attendnext.arch", {"depth": 3}),
}


def render_golden(name: str) -> str:
    from archdsl_backends.graphviz import RenderOptions, render_dot

    import archdsl

    spec, opts = GOLDENS[name]
    return render_dot(archdsl.load(ROOT / spec), RenderOptions(**opts))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Regenerate (or --check) the graphviz backend's golden DOT files.")
    ap.add_argument("--check", action="store_true", help="compare only; exit 1 when a golden differs")
    args = ap.parse_args(argv)
    stale = []
    for name in GOLDENS:
        path = GOLDEN_DIR / name
        text = render_golden(name)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)} ({len(text):,} bytes)")
    if stale:
        print("out of date: " + ", ".join(stale) + "; run python scripts/regen_render_goldens.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
