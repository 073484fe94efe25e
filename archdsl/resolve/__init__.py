"""Resolution: a spec file (and its imports) → a validated IR :class:`~archdsl.ir.Graph`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archdsl.diagnostics import DiagnosticError, SourceMap, did_you_mean, error
from archdsl.ir import Graph
from archdsl.resolve.limits import DEFAULT_LIMITS, Limits
from archdsl.resolve.program import Program, load_program
from archdsl.resolve.resolver import Resolver


def default_net(prog: Program, stem: str) -> str:
    """The net a file means when none is named: its only net, or the one named like the file."""
    names = [n.name for n in prog.root.nets]
    if len(names) == 1:
        return names[0]
    if stem in names:
        return stem
    if not names:
        raise error(
            "E204",
            "the file defines no net",
            None,
            help="a spec needs a 'net NAME { ... }' (files with only blocks are libraries to import)",
        )
    raise error(
        "E204",
        f"the file defines {len(names)} nets and none is named '{stem}'",
        None,
        help="choose one with --net: " + ", ".join(names),
    )


def load_graph(
    path: str | Path,
    net: str | None = None,
    overrides: dict[str, Any] | None = None,
    input_shape: tuple[int, ...] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    sources: SourceMap | None = None,
    text: str | None = None,
) -> Graph:
    """Parse, resolve and shape-check one net of a spec file."""
    prog = load_program(path, text=text, sources=sources)
    name = net or default_net(prog, Path(path).stem)
    if net is not None and net not in prog.nets:
        raise error(
            "E204",
            f"no net named '{net}'",
            None,
            help=did_you_mean(net, set(prog.nets)) or "nets: " + ", ".join(sorted(prog.nets)),
        )
    return Resolver(prog, limits).resolve(name, overrides, input_shape)


__all__ = [
    "DEFAULT_LIMITS",
    "DiagnosticError",
    "Limits",
    "Program",
    "Resolver",
    "default_net",
    "load_graph",
    "load_program",
]
