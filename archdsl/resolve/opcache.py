"""What an op makes of given argument values and input types, remembered.

Making an op node is the resolver's hot path: the op's argument schema validates the values
(pydantic), its shape rule infers the output type, its weights give the parameter count, its MAC
rule the MAC count. All four are pure functions of the op, the argument values (with their Python
types: ``1``, ``1.0`` and ``true`` are different arguments) and the input types, and the same call
recurs all the time: every repetition of a block after the first, most ops of the next point of a
design space. :func:`infer_op` computes them once per distinct call and hands back the same
(frozen, immutable) argument object and output type afterwards.

A failure is remembered as what it was about (the schema's error list, or the shape rule's
:class:`~archdsl.ops.OpError`), never as a diagnostic: the caller locates it at its own call site
every time. Anything else a rule raises is not remembered (it propagates as before). The cache is
bounded (emptied when it holds :data:`MAX_ENTRIES` results) and keyed by the op's name and checked
against the very :class:`~archdsl.ops.OpSpec` it was made for, so an op registered later under the
same name never sees another op's results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from archdsl.ops import OpError, OpSpec, TensorType

MAX_ENTRIES = 8192
"""Distinct calls remembered (a few hundred bytes each); the cache is emptied when it is full."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """An op call's result: ``args`` (validated, normalised by the shape rule), ``out``, ``params``
    and ``macs``; or ``errors`` (the schema's, as pydantic lists them); or ``op_error``."""

    spec: OpSpec
    args: Any = None
    out: TensorType | None = None
    params: int = 0
    macs: int = 0
    errors: list[dict[str, Any]] | None = None
    op_error: OpError | None = None


_CACHE: dict[tuple, Outcome] = {}


def _typed(v: Any) -> Any:
    """A value as a key that tells apart what compares equal but validates differently: ``1``,
    ``1.0`` and ``true``; ``0.0`` and ``-0.0``; the same inside tuples."""
    t = type(v)
    if t is tuple:
        return (t, tuple(_typed(x) for x in v))
    if t is float and v == 0.0:
        return (t, v, math.copysign(1.0, v))
    return (t, v)


def _key(spec: OpSpec, values: dict[str, Any], types: list[TensorType]) -> tuple | None:
    """The cache key of a call (the values in the order given), or None when a value cannot be one."""
    key = (
        spec.name,
        tuple((k, _typed(v)) for k, v in values.items()),
        tuple((t.shape, t.layout) for t in types),
    )
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _compute(spec: OpSpec, values: dict[str, Any], types: list[TensorType]) -> Outcome:
    try:
        args = spec.args(**values)
    except ValidationError as exc:
        return Outcome(spec, errors=exc.errors())
    try:
        out, args = spec.infer(args, types)
    except OpError as exc:
        return Outcome(spec, op_error=exc.with_traceback(None))  # kept without the frames it was raised in
    return Outcome(spec, args, out, spec.params(args, types, out), spec.macs(args, types, out))


def infer_op(spec: OpSpec, values: dict[str, Any], types: list[TensorType]) -> Outcome:
    """The outcome of calling ``spec`` with argument ``values`` on inputs of ``types``."""
    key = _key(spec, values, types)
    if key is None:
        return _compute(spec, values, types)
    hit = _CACHE.get(key)
    if hit is not None and hit.spec is spec:
        return hit
    outcome = _compute(spec, values, types)
    if len(_CACHE) >= MAX_ENTRIES:
        _CACHE.clear()
    _CACHE[key] = outcome
    return outcome


def clear() -> None:
    """Forget every result (tests, and a long-lived process that wants the memory back)."""
    _CACHE.clear()
