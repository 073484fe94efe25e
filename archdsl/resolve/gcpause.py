"""The cyclic garbage collector paused while a spec is loaded and resolved.

Loading and resolving build large structures that live on (the AST, the IR) and make almost no
garbage with cycles (everything they drop is freed by reference counting). CPython's collector
does not know that: every 700 new container objects it looks at the young ones, and each time the
survivors pass a quarter of everything older it walks the *whole* heap. On a big spec those full
walks are a third of the time, and they make the time per line grow with the size of the spec
(a 20,000-line spec: 1.4 s of a 4.3 s resolve, measured; benchmarks/results/resolve_after.txt).

:func:`paused_gc` switches the collector off for the duration and back on after, only if it was
on (so nesting, and a caller who turned it off, are respected); what was allocated meanwhile is
looked at by the next collection as usual. The work of resolving is bounded by the step budget
(:mod:`archdsl.resolve.limits`) and loading by the size limits of the files, so the memory a
pause can hold back is bounded too.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
