"""Summary statistics of raw timings, computed the same way for every target."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default), ``q`` in 0..100."""
    xs = sorted(values)
    if not xs:
        raise ValueError("no values")
    pos = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class Summary:
    median_s: float
    p90_s: float
    p99_s: float
    mean_s: float
    std_s: float
    min_s: float
    runs: int
    throughput: float
    """samples per second at the median: batch / median"""

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def summarise(timings_s: list[float], batch: int = 1) -> Summary:
    med = statistics.median(timings_s)
    return Summary(
        median_s=med,
        p90_s=percentile(timings_s, 90),
        p99_s=percentile(timings_s, 99),
        mean_s=statistics.fmean(timings_s),
        std_s=statistics.stdev(timings_s) if len(timings_s) > 1 else 0.0,
        min_s=min(timings_s),
        runs=len(timings_s),
        throughput=batch / med if med > 0 else float("inf"),
    )


def spearman(xs: list[float], ys: list[float]) -> float:
    """Spearman rank correlation (average ranks for ties)."""

    def ranks(v: list[float]) -> list[float]:
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2 + 1
            i = j + 1
        return r

    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    den = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return num / den if den else 0.0


def pairwise_order(xs: list[float], ys: list[float]) -> tuple[int, int]:
    """(pairs ordered the same way in both, all pairs)."""
    n = len(xs)
    same = total = 0
    for i in range(n):
        for j in range(i + 1, n):
            total += 1
            if (xs[i] - xs[j]) * (ys[i] - ys[j]) > 0:
                same += 1
    return same, total
