"""Peak memory and time of ``archdsl compile -b onnx`` for nets of big linears (docs/onnx.md,
"Large models: external data").

    python benchmarks/onnx_memory.py                 # 1.07 GB (one 16384² linear) and 2.52 GB (three 14500²)
    python benchmarks/onnx_memory.py --sizes 8192    # one 8192² linear (268 MB)

Each compile runs in a child process; its peak RSS comes from ``os.wait4`` (``ru_maxrss``), the time
is wall-clock. Needs free memory of about the model's size (the old pipeline needed ~9×) and disk
for the files, which are written to a temporary folder and removed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def spec(sizes: list[int]) -> str:
    width = sizes[0]
    chain = " -> ".join(f"linear({width}, bias = false)" for _ in sizes)
    return f"net big {{\n    input x [{width}, 1, 1]\n    y = flatten -> {chain}\n}}\n"


def measure(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="archdsl-onnx-mem-") as tmp:
        path = Path(tmp) / "big.arch"
        path.write_text(spec(sizes))
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "archdsl", "compile", str(path), "-b", "onnx", "-o", f"{tmp}/big.onnx"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - start
        err = proc.stderr.read().decode()
        files = {p.name: p.stat().st_size for p in Path(tmp).glob("big.onnx*")}
        weights = sum(s * s * 4 for s in sizes)
        code = os.waitstatus_to_exitcode(status)
        print(
            f"{len(sizes)} x linear({sizes[0]}): weights {weights / 1e9:.2f} GB, exit {code}, "
            f"{seconds:.1f} s, peak {usage.ru_maxrss / 2**20:.2f} GiB, files {files}"
        )
        if code:
            print(err[-2000:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="*", help="widths of the linears of one net, e.g. 14500 14500 14500")
    args = ap.parse_args()
    if args.sizes:
        measure([int(s) for s in args.sizes])
        return
    measure([16384])
    measure([14500, 14500, 14500])


if __name__ == "__main__":
    main()
