"""The functions of the expression language, and the arithmetic that needs guarding.

Each function is pure, takes numbers, and describes its arguments as a
:class:`~archdsl.resolve.binding.Signature`, so calls are matched by the one binder. Results are
what Python computes (``round`` halves to even, ``min`` returns the first of equals), except that
nothing is computed whose magnitude would pass :data:`MAX_MAGNITUDE` (E505: ``2 ** 10000`` is
refused from the sizes of its operands, before any big integer is made) and that a result Python
would make complex, infinite or an error is a located E260 (``log(0)``, ``0 ** -1``,
``(-8) ** 0.5``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archdsl.diagnostics import Span, error
from archdsl.resolve.binding import INTEGER, NUMBER, NUMBER_OR_NONE, Bound, Param, Signature
from archdsl.resolve.values import show

MAX_MAGNITUDE = 10**18
_MAX_BITS = math.log2(MAX_MAGNITUDE) + 1  # beyond this a power is refused without computing it


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None, round_limit: float = 0.9) -> int:
    """timm's ``make_divisible``: round to the nearest multiple, never more than 10% down."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


def scale_depth(n: int, mult: float) -> int:
    """timm's depth multiplier: ``ceil(n * mult)``."""
    return math.ceil(n * mult)


def scale_channels(c: float, mult: float, divisor: int = 8) -> int:
    """A width multiplier: ``make_divisible(c * mult, divisor)``."""
    return make_divisible(c * mult, divisor)


def out_of_range(what: str, span: Span | None):
    return error(
        "E505",
        f"{what} is out of range (magnitude above 1e18)",
        span,
        help="sizes this large are refused before anything is built",
    )


def check_range(v: Any, span: Span | None) -> Any:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        raise error("E505", "the value is not a finite number", span)
    if isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) > MAX_MAGNITUDE:
        raise out_of_range(f"the value {v:.3g}", span)
    return v


def _operand(v: int | float) -> str:
    return f"({show(v)})" if v < 0 else show(v)


def power(a: int | float, b: int | float, span: Span | None) -> int | float:
    """``a ** b`` as Python computes it, for real results within the magnitude limit."""
    what = f"{_operand(a)} ** {_operand(b)}"
    if a == 0 and b < 0:
        raise error("E260", f"0 cannot be raised to a negative power ({what})", span)
    if a < 0 and isinstance(b, float) and not b.is_integer():
        raise error("E260", f"a negative number to a fractional power is not real ({what})", span)
    if a != 0 and b * math.log2(abs(a)) > _MAX_BITS:
        raise out_of_range(f"the value of {what}", span)
    try:
        return a**b
    except OverflowError:
        raise out_of_range(f"the value of {what}", span) from None


def _log(b: Bound, span: Span) -> float:
    x, base = b.values["x"], b.values.get("base")
    if x <= 0:
        raise error("E260", f"log() of {show(x)}: the logarithm needs a positive number", b.spans["x"])
    if base is None:
        return math.log(x)
    if base <= 0 or base == 1:
        raise error("E260", f"log() base {show(base)}: a base is positive and not 1", b.spans["base"])
    return math.log(x, base)


def _exp(b: Bound, span: Span) -> float:
    x = b.values["x"]
    try:
        return math.exp(x)
    except OverflowError:
        raise out_of_range(f"the value of exp({show(x)})", span) from None


def _round(b: Bound, span: Span) -> int | float:
    x, ndigits = b.values["x"], b.values.get("ndigits")
    if ndigits is None:
        return round(x)
    if isinstance(x, int) and ndigits < -20:
        return 0  # what Python gives for |x| <= 1e18, without making 10 ** -ndigits
    return round(x, ndigits)


def _extreme(pick: Callable[..., Any]) -> Callable[[Bound, Span], Any]:
    def call(b: Bound, span: Span) -> Any:
        return pick(b.rest)

    return call


@dataclass(frozen=True)
class Function:
    signature: Signature
    call: Callable[[Bound, Span], Any]
    usage: str  # how docs/language.md writes it

    @property
    def doc(self) -> str:
        return self.signature.help or ""


def _fn(
    name: str,
    params: tuple[Param, ...],
    doc: str,
    call: Callable[[Bound, Span], Any] | None = None,
    impl: Callable[..., Any] | None = None,
    varargs: Param | None = None,
    min_varargs: int = 0,
) -> Function:
    sig = Signature(
        "function", name, params, tuple(p.name for p in params), varargs=varargs, min_varargs=min_varargs, help=doc
    )
    if call is None:
        assert impl is not None

        def call(b: Bound, span: Span) -> Any:
            return impl(*(b.get(sig, p.name) for p in params))

    parts = [p.name if p.required else f"{p.name} = {show(p.default)}" for p in params]
    if varargs is not None:
        parts = [f"{varargs.name}1", f"{varargs.name}2", "..."]
    return Function(sig, call, f"{name}({', '.join(parts)})")


def _num(name: str, default: Any = None, required: bool = True, kind: str = NUMBER) -> Param:
    return Param(name, required=required, kind=kind, default=default)


FUNCTIONS: dict[str, Function] = {
    f.signature.name: f
    for f in (
        _fn(
            "make_divisible",
            (
                _num("v"),
                _num("divisor", 8, False),
                _num("min_value", None, False, NUMBER_OR_NONE),
                _num("round_limit", 0.9, False),
            ),
            "round v to a multiple of divisor (default 8), as timm does",
            impl=make_divisible,
        ),
        _fn("scale_depth", (_num("n"), _num("mult")), "ceil(n * mult): a depth multiplier", impl=scale_depth),
        _fn(
            "scale_channels",
            (_num("c"), _num("mult"), _num("divisor", 8, False)),
            "make_divisible(c * mult, divisor)",
            impl=scale_channels,
        ),
        _fn("ceil", (_num("x"),), "round up to an integer", impl=math.ceil),
        _fn("floor", (_num("x"),), "round down to an integer", impl=math.floor),
        _fn(
            "round",
            (_num("x"), _num("ndigits", None, False, INTEGER)),
            "round to the nearest integer, or to ndigits decimals (halves to even)",
            call=_round,
        ),
        _fn("int", (_num("x"),), "truncate to an integer", impl=int),
        _fn("float", (_num("x"),), "convert to a number", impl=float),
        _fn("abs", (_num("x"),), "absolute value", impl=abs),
        _fn("min", (), "the smallest of two or more numbers", call=_extreme(min), varargs=_num("x"), min_varargs=2),
        _fn("max", (), "the largest of two or more numbers", call=_extreme(max), varargs=_num("x"), min_varargs=2),
        _fn("pow", (_num("x"), _num("y")), "x ** y", call=lambda b, span: power(b.values["x"], b.values["y"], span)),
        _fn(
            "log",
            (_num("x"), _num("base", None, False, NUMBER_OR_NONE)),
            "the natural logarithm of x, or its logarithm to base",
            call=_log,
        ),
        _fn("exp", (_num("x"),), "e ** x", call=_exp),
    )
}
