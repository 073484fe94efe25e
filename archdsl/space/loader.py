"""Loading a search space from a spec file, and resolving its points into IR graphs.

:func:`load_space` parses the file (and its imports, the standard library included) once, checks
the selected ``space`` definition and returns a :class:`LoadedSpace`; its :meth:`~LoadedSpace.resolve`
turns a point into the net's :class:`~archdsl.ir.Graph` through the resolver's parameter overrides
(the same mechanism as ``-p NAME=VALUE``), with no parsing per point. A point that does not resolve
raises :class:`~archdsl.diagnostics.DiagnosticError` with the resolver's own located diagnostics.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archdsl.diagnostics import Diagnostic, DiagnosticError, SourceMap, did_you_mean, error
from archdsl.ir import Graph
from archdsl.resolve.limits import DEFAULT_LIMITS, Limits
from archdsl.resolve.program import Program, load_program
from archdsl.resolve.resolver import Resolver
from archdsl.resolve.values import show
from archdsl.space.build import build_space
from archdsl.space.model import Space, same_value
from archdsl.syntax import ast

TEXT_LABEL = "<input>"


def iter_spaces(program: Program) -> Iterator[ast.SpaceDef]:
    """The space definitions of the program's own file (not of the files it imports), in order."""
    yield from program.root.spaces


def space_names(program: Program) -> list[str]:
    return [s.name for s in iter_spaces(program)]


def select_space(program: Program, name: str | None, stem: str | None = None) -> ast.SpaceDef:
    """The space ``name`` (of the file or one it imports); without a name the file's only space, or
    the one named like the file (``stem``). E346 otherwise, with a did-you-mean or the list."""
    if name is not None:
        sdef = program.spaces.get(name)
        if sdef is None:
            raise error(
                "E346",
                f"no space named '{name}'",
                None,
                help=did_you_mean(name, set(program.spaces))
                or ("spaces: " + ", ".join(sorted(program.spaces)) if program.spaces else "the file defines no space"),
            )
        return sdef
    own = list(iter_spaces(program))
    if len(own) == 1:
        return own[0]
    if stem is not None:
        for s in own:
            if s.name == stem:
                return s
    if not own:
        raise error("E346", "the file defines no space", None, help="a space is 'space NAME extends NET { ... }'")
    raise error(
        "E346",
        f"the file defines {len(own)} spaces" + (f" and none is named '{stem}'" if stem else ""),
        None,
        help="choose one by name: " + ", ".join(s.name for s in own),
    )


def format_point(point: dict[str, Any]) -> str:
    """``width = 1.0, stem = "blur_first"``: a point as the language writes its values."""
    return ", ".join(f"{k} = {show(v)}" for k, v in point.items()) or "(no searched parameters)"


@dataclass
class LoadedSpace:
    """A checked space with its program, ready to resolve points.

    ``sources`` holds the text of every file read (for printing diagnostics, as the CLI does);
    ``limits`` are the resolver's, applied to every point.
    """

    space: Space
    program: Program
    sources: SourceMap
    limits: Limits = DEFAULT_LIMITS
    _resolver: Resolver | None = field(default=None, repr=False)

    @property
    def net(self) -> str:
        return self.space.net

    def overrides(self, point: dict[str, Any]) -> dict[str, Any]:
        """The net parameters a point means: the space's fixed values, then the point's."""
        unknown = [k for k in point if k not in self.space.domains]
        if unknown:
            raise error(
                "E302",
                f"space '{self.space.name}' has no parameter '{unknown[0]}'",
                self.space.name_span,
                help=did_you_mean(unknown[0], set(self.space.domains))
                or "parameters: " + ", ".join(self.space.domains),
            )
        return {**self.space.fixed(), **point}

    def resolve(self, point: dict[str, Any], input_shape: tuple[int, ...] | None = None) -> Graph:
        """The net at ``point`` (searched parameters → values; the space's fixed values added).

        Raises :class:`DiagnosticError` with the point's diagnostics. Each point gets the resolver's
        whole work budget; the parse, the imports and the net's ``extends`` chain are shared (so one
        :class:`LoadedSpace` serves one thread at a time). The values are not checked against the
        domains: any value the net accepts resolves (the explorer's values lie inside them).
        """
        overrides = self.overrides(point)
        r = self._resolver
        if r is None:
            r = self._resolver = Resolver(self.program, self.limits)
        r.budget.left = r.budget.limit  # a fresh budget for every point
        return r.resolve(self.space.net, overrides, input_shape)

    def default_graph(self) -> Graph:
        return self.resolve(self.space.default_point())


def load_space(
    path: str | Path | None = None,
    *,
    text: str | None = None,
    name: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    sources: SourceMap | None = None,
) -> LoadedSpace:
    """Parse a spec (the file ``path``, or ``text`` labelled as ``path`` or ``<input>``) and check
    its space ``name`` (default: the file's only space, or the one named like the file).

    Raises :class:`DiagnosticError` with located diagnostics (syntax, imports, the space's
    definition); ``sources`` (given or made) receives the text of every file read.
    """
    if path is None and text is None:
        raise TypeError("load_space() needs a path or text")
    sources = sources if sources is not None else SourceMap()
    label = Path(path) if path is not None else Path(TEXT_LABEL)
    prog = load_program(label, text=text, sources=sources)
    stem = label.stem if path is not None else None
    sdef = select_space(prog, name, stem)
    resolver = Resolver(prog, limits)
    space = build_space(prog, sdef, resolver)
    return LoadedSpace(space, prog, sources, limits, resolver)


def point_failure(space: Space, label: str, point: dict[str, Any], exc: DiagnosticError) -> list[Diagnostic]:
    """The diagnostics of a point that does not resolve: E347 at the space (a note lists the
    point's values), then the point's own diagnostics, each noting the point."""
    head = Diagnostic(
        "E347",
        f"space '{space.name}': the {label} point does not resolve",
        space.name_span,
        help="narrow the domains so that every point is a valid net",
        notes=(format_point(point),),
    )
    note = f"at the {label} point of space '{space.name}'"
    own = [Diagnostic(d.code, d.message, d.span, d.severity, d.help, (*d.notes, note)) for d in exc.diagnostics]
    return [head, *own]


CHECK_SEED = 0
CHECK_RANDOM_POINTS = 3


def check_points(space: Space, seed: int = CHECK_SEED, n_random: int = CHECK_RANDOM_POINTS) -> list[tuple[str, dict]]:
    """The points ``archdsl check`` resolves: the default point, every domain's first value, every
    domain's last value, then ``n_random`` points sampled with ``random.Random(seed)``; a point
    equal to an earlier one is left out."""
    rng = random.Random(seed)
    points = [("default", space.default_point()), ("all-first", space.first_point()), ("all-last", space.last_point())]
    points += [(f"random #{i + 1} (seed {seed})", space.sample(rng)) for i in range(n_random)]
    out: list[tuple[str, dict]] = []
    for label, p in points:
        if not any(_same_point(p, q) for _, q in out):
            out.append((label, p))
    return out


def _same_point(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)


def check_space(loaded: LoadedSpace) -> tuple[int, list[Diagnostic]]:
    """Resolve the :func:`check_points` of a loaded space; the number resolved, and the diagnostics
    of the first failing point (:func:`point_failure`; empty when all resolve)."""
    n = 0
    for label, point in check_points(loaded.space):
        try:
            loaded.resolve(point)
        except DiagnosticError as exc:
            return n, point_failure(loaded.space, label, point, exc)
        n += 1
    return n, []


__all__ = [
    "LoadedSpace",
    "check_points",
    "check_space",
    "format_point",
    "iter_spaces",
    "load_space",
    "point_failure",
    "select_space",
    "space_names",
]
