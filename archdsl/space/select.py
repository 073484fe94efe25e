"""Which definition of a spec file a command means, when the file may hold nets *and* spaces.

``archdsl show/render/compile/bench`` resolve one definition: ``--net NAME`` names a net or a
space (of the file or of one it imports); without it, the file's only definition, or the one named
like the file. A net resolves as before; a space resolves at its default point
(:meth:`~archdsl.space.model.Space.default_point`), with ``-p NAME=VALUE`` over it, and the
command says so in a note. A file without spaces behaves exactly as :func:`archdsl.resolve.load_graph`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archdsl.diagnostics import SourceMap, did_you_mean, error
from archdsl.ir import Graph
from archdsl.resolve import default_net
from archdsl.resolve.limits import DEFAULT_LIMITS, Limits
from archdsl.resolve.program import Program, load_program
from archdsl.resolve.resolver import Resolver
from archdsl.space.build import build_space
from archdsl.space.loader import format_point


@dataclass
class Selected:
    graph: Graph
    note: str | None = None  # set when the definition is a space: which point was resolved


def _pick(prog: Program, name: str | None, stem: str) -> tuple[str, bool]:
    """The name of the definition meant, and whether it is a space."""
    if name is not None:
        if name in prog.nets:
            return name, False
        if name in prog.spaces:
            return name, True
        names = set(prog.nets) | set(prog.spaces)
        listing = ", ".join(sorted(prog.nets))
        if prog.spaces:
            listing = f"nets: {listing or '(none)'}; spaces: " + ", ".join(sorted(prog.spaces))
        else:
            listing = "nets: " + listing
        what = "no net or space named" if prog.spaces else "no net named"
        raise error("E204", f"{what} '{name}'", None, help=did_you_mean(name, names) or listing)
    if not prog.root.spaces:
        return default_net(prog, stem), False
    own = [(n.name, False) for n in prog.root.nets] + [(s.name, True) for s in prog.root.spaces]
    if len(own) == 1:
        return own[0]
    for n, is_space in own:
        if n == stem:
            return n, is_space
    raise error(
        "E204",
        f"the file defines {len(prog.root.nets)} net{'s' if len(prog.root.nets) != 1 else ''} and "
        f"{len(prog.root.spaces)} space{'s' if len(prog.root.spaces) != 1 else ''}, and none is named '{stem}'",
        None,
        help="choose one with --net: " + ", ".join(n for n, _ in own),
    )


def resolve_selected(
    path: str | Path,
    name: str | None = None,
    overrides: dict[str, Any] | None = None,
    input_shape: tuple[int, ...] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    sources: SourceMap | None = None,
    text: str | None = None,
) -> Selected:
    """Resolve the definition ``name`` of the spec (a net, or a space at its default point)."""
    prog = load_program(path, text=text, sources=sources)
    chosen, is_space = _pick(prog, name, Path(path).stem)
    resolver = Resolver(prog, limits)
    if not is_space:
        return Selected(resolver.resolve(chosen, overrides, input_shape))
    space = build_space(prog, prog.spaces[chosen], resolver)
    point = space.default_point()
    given = dict(overrides or {})
    shown = {**point, **{k: v for k, v in given.items() if k in point}}
    graph = resolver.resolve(space.net, {**space.fixed(), **point, **given}, input_shape)
    where = "its default point" + (" and the -p values" if given else "")
    note = f"space '{space.name}' (net '{space.net}') at {where}: {format_point(shown)}"
    return Selected(graph, note)


__all__ = ["Selected", "resolve_selected"]
