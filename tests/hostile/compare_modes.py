"""Run the whole hostile corpus both ways, fresh processes and fork-server children, and compare.

    .venv/bin/python -m tests.hostile.compare_modes [NAME-SUBSTRING ...]

Prints, per mode, wall and CPU time (of all child processes, servers included) and, per case
where they differ, the exit codes and the judged problems; then the largest differences of peak
RSS and of (charged) CPU. Exits 1 when any exit code or judgement differs. A development tool
(the corpus takes minutes each way), not a test.
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.hostile.harness import ForkServers, all_cases, judge, run_case


def _run(cases, servers) -> tuple[dict, float, float]:
    root = Path(tempfile.mkdtemp(prefix="archdsl-compare-"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    out = {}
    try:
        for c in cases:
            folder = root / c.name
            folder.mkdir()
            out[c.name] = run_case(c, folder, servers)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return out, time.monotonic() - start, cpu


def main(argv: list[str]) -> int:
    cases = [c for c in all_cases() if not argv or any(s in c.name for s in argv)]
    fresh, fresh_wall, fresh_cpu = _run(cases, None)
    root = Path(tempfile.mkdtemp(prefix="archdsl-compare-servers-"))
    with ForkServers(root) as servers:
        forked, fork_wall, fork_cpu = _run(cases, servers)
    shutil.rmtree(root, ignore_errors=True)
    print(f"{len(cases)} cases; fresh: {fresh_wall:.0f} s wall, {fresh_cpu:.0f} s CPU")
    print(f"{'':>{len(str(len(cases)))}}        forked: {fork_wall:.0f} s wall, {fork_cpu:.0f} s CPU")
    differ = 0
    for c in cases:
        a, b = fresh[c.name], forked[c.name]
        if a.returncode != b.returncode or judge(c, a) != judge(c, b):
            differ += 1
            print(f"DIFFERS {c.name}: exit {a.returncode} vs {b.returncode}; {judge(c, a)} vs {judge(c, b)}")
    print(f"exit codes and judgements differ in {differ} of {len(cases)} cases")
    rss = sorted((forked[n].rss_mb - fresh[n].rss_mb, n) for n in fresh)
    cpu = sorted((forked[n].cpu_seconds - fresh[n].cpu_seconds, n) for n in fresh)
    print(f"peak RSS forked - fresh (MB): min {rss[0][0]:+.1f} ({rss[0][1]}), max {rss[-1][0]:+.1f} ({rss[-1][1]})")
    print(f"CPU forked (charged) - fresh (s): min {cpu[0][0]:+.2f} ({cpu[0][1]}), max {cpu[-1][0]:+.2f} ({cpu[-1][1]})")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
