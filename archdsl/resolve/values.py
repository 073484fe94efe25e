"""The values the resolver computes with, and how diagnostics name and show them.

A value is a number, a string, a boolean, ``none`` or a :class:`TensorVal` (a tensor bound to a
name). :data:`POISON` marks a name whose definition had an error that was already reported; using
it raises :class:`Poisoned`, so one mistake is reported once and not again by everything after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archdsl.ops import TensorType


@dataclass(frozen=True)
class TensorVal:
    """A tensor bound to a name: the id of the node (or graph input) that produces it."""

    ref: str
    type: TensorType

    def __str__(self) -> str:
        return f"tensor {self.type}"


class Poisoned(Exception):
    """Raised when a value depends on an earlier error that was already reported."""


POISON = object()


def is_number(*vals: Any) -> bool:
    """Integers and numbers, not booleans (which Python counts as integers)."""
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)


def type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if v is None:
        return "none"
    if isinstance(v, TensorVal):
        return "a tensor"
    if isinstance(v, tuple):
        return "a tuple"
    return type(v).__name__


def show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, tuple):
        return "(" + ", ".join(show(x) for x in v) + ")"
    return str(v)


def got(v: Any) -> str:
    """``a string "x"``, ``an integer 3``, ``a tensor``: what a diagnostic says it was given."""
    if isinstance(v, TensorVal) or v is None:
        return type_name(v)
    return f"{type_name(v)} {show(v)}"
