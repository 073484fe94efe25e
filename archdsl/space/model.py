"""The search-space model: domains over a net's parameters, and a :class:`Space` of them.

A space (``space NAME extends NET { ... }`` in a spec, see docs/language.md "Search spaces") maps
some of NET's parameters to a domain each: a categorical :class:`Choice`, an integer range
:class:`IntRange`, a float range :class:`FloatRange`, or a :class:`Fixed` value that is not
searched. A *point* is a dict ``parameter -> value`` over the searched parameters; the loader
(:mod:`archdsl.space.loader`) resolves a point into the net's IR. Plain data: the explorer hands
the domains to Optuna, this module samples them itself only for ``archdsl check``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from archdsl.diagnostics import Span

_REL = 1e-9  # the tolerance of a float step: a value on the grid within 1e-9 of a step


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def same_value(a: Any, b: Any) -> bool:
    """Equality as the language means it: ``true`` is not ``1``, ``1`` is ``1.0``."""
    return isinstance(a, bool) == isinstance(b, bool) and a == b


@dataclass(frozen=True)
class Choice:
    """One of ``values`` (numbers, strings, booleans or none), in the order written."""

    values: tuple[Any, ...]
    span: Span | None = field(default=None, compare=False)

    def contains(self, value: Any) -> bool:
        return any(same_value(value, v) for v in self.values)

    def first(self) -> Any:
        return self.values[0]

    def last(self) -> Any:
        return self.values[-1]

    def sample(self, rng: random.Random) -> Any:
        return self.values[rng.randrange(len(self.values))]

    @property
    def size(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class IntRange:
    """An integer in ``[lo, hi]`` (both inclusive) on the grid ``lo + k * step``; ``log`` samples
    log-uniformly (then ``step`` is 1 and ``lo`` at least 1, as Optuna requires)."""

    lo: int
    hi: int
    step: int = 1
    log: bool = False
    span: Span | None = field(default=None, compare=False)

    def contains(self, value: Any) -> bool:
        if not _is_number(value) or (isinstance(value, float) and not value.is_integer()):
            return False
        v = int(value)
        return self.lo <= v <= self.hi and (v - self.lo) % self.step == 0

    def first(self) -> int:
        return self.lo

    def last(self) -> int:
        return self.lo + (self.size - 1) * self.step

    def sample(self, rng: random.Random) -> int:
        if self.log:  # log-uniform over [lo - 0.5, hi + 0.5], rounded: every integer has its share
            x = math.exp(rng.uniform(math.log(self.lo - 0.5), math.log(self.hi + 0.5)))
            return min(self.hi, max(self.lo, round(x)))
        return self.lo + self.step * rng.randrange(self.size)

    @property
    def size(self) -> int:
        return (self.hi - self.lo) // self.step + 1


@dataclass(frozen=True)
class FloatRange:
    """A number in ``[lo, hi]``: continuous, or on the grid ``lo + k * step`` (``step`` divides
    ``hi - lo``); ``log`` samples log-uniformly (then ``lo > 0`` and no step)."""

    lo: float
    hi: float
    step: float | None = None
    log: bool = False
    span: Span | None = field(default=None, compare=False)

    def contains(self, value: Any) -> bool:
        if not _is_number(value) or not (self.lo <= value <= self.hi):
            return False
        if self.step is None:
            return True
        k = (value - self.lo) / self.step
        return abs(k - round(k)) <= _REL * max(1.0, abs(k))

    def first(self) -> float:
        return self.lo

    def last(self) -> float:
        return self.hi

    def sample(self, rng: random.Random) -> float:
        if self.step is not None:
            return self.grid(rng.randrange(self.size))
        if self.log:
            return min(self.hi, max(self.lo, math.exp(rng.uniform(math.log(self.lo), math.log(self.hi)))))
        return rng.uniform(self.lo, self.hi)

    def grid(self, k: int) -> float:
        """The k-th value of a stepped range, rounded as the step is written (0.1 * 3 is 0.3)."""
        assert self.step is not None
        v = self.lo + k * self.step
        return min(self.hi, round(v, 12))

    @property
    def size(self) -> int | None:
        """How many values a stepped range has (None: continuous)."""
        if self.step is None:
            return None
        return round((self.hi - self.lo) / self.step) + 1


@dataclass(frozen=True)
class Fixed:
    """A value the space sets and does not search."""

    value: Any
    span: Span | None = field(default=None, compare=False)

    def contains(self, value: Any) -> bool:
        return same_value(value, self.value)

    def first(self) -> Any:
        return self.value

    def last(self) -> Any:
        return self.value

    def sample(self, rng: random.Random) -> Any:
        return self.value

    @property
    def size(self) -> int:
        return 1


Domain = Choice | IntRange | FloatRange | Fixed


@dataclass(frozen=True)
class Space:
    """A search space over the parameters of net ``net``.

    ``domains`` holds every parameter the space names, in declaration order (the ``extends``
    arguments first, as fixed values); ``meta`` the space's ``meta { }`` (budgets and constraints
    that ``archdsl explore`` reads); ``defaults`` the net's own default value of each searched
    parameter that has one (evaluated with the parameters before it at their default-point values).
    """

    name: str
    net: str
    domains: dict[str, Domain]
    meta: dict[str, Any] = field(default_factory=dict)
    file: str = ""
    span: Span | None = field(default=None, compare=False)
    defaults: dict[str, Any] = field(default_factory=dict, compare=False)
    name_span: Span | None = field(default=None, compare=False)

    def searched(self) -> dict[str, Domain]:
        """The searched parameters (every domain but the fixed ones), in declaration order."""
        return {k: d for k, d in self.domains.items() if not isinstance(d, Fixed)}

    def fixed(self) -> dict[str, Any]:
        """The values the space fixes (``extends`` arguments and plain-expression entries)."""
        return {k: d.value for k, d in self.domains.items() if isinstance(d, Fixed)}

    def default_point(self) -> dict[str, Any]:
        """The point ``show``/``render``/``compile`` use: for each searched parameter the net's own
        default where it lies inside the domain, otherwise the domain's first value (a choice's first
        value, a range's lower bound)."""
        out = {}
        for k, d in self.searched().items():
            if k in self.defaults and d.contains(self.defaults[k]):
                out[k] = self.defaults[k]
            else:
                out[k] = d.first()
        return out

    def first_point(self) -> dict[str, Any]:
        return {k: d.first() for k, d in self.searched().items()}

    def last_point(self) -> dict[str, Any]:
        return {k: d.last() for k, d in self.searched().items()}

    def sample(self, rng: random.Random) -> dict[str, Any]:
        """A random point: each searched domain sampled in declaration order (seed ``rng`` for
        the same points every time)."""
        return {k: d.sample(rng) for k, d in self.searched().items()}

    def size(self) -> int | None:
        """How many points the space has (None: a continuous float range)."""
        n = 1
        for d in self.searched().values():
            s = d.size
            if s is None:
                return None
            n *= s
        return n


__all__ = ["Choice", "Domain", "Fixed", "FloatRange", "IntRange", "Space", "same_value"]
