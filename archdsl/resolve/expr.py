"""Evaluation of the expression sub-language: numbers, strings, booleans, arithmetic and a few
pure builtins (``make_divisible`` identical to timm, ``scale_depth`` rounding up like timm's depth
multiplier). A tree walk over the AST; nothing is ever handed to Python's ``eval``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archdsl.diagnostics import DiagnosticError, Span, did_you_mean, error
from archdsl.ops import TensorType
from archdsl.syntax import ast

MAX_MAGNITUDE = 10**18


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
    return type(v).__name__


def show(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, str):
        return f'"{v}"'
    return str(v)


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


@dataclass(frozen=True)
class Builtin:
    fn: Callable[..., Any]
    params: tuple[str, ...]
    required: int
    doc: str


def _num(*vals):
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)


BUILTINS: dict[str, Builtin] = {
    "make_divisible": Builtin(
        make_divisible,
        ("v", "divisor", "min_value", "round_limit"),
        1,
        "round v to a multiple of divisor (default 8), as timm does",
    ),
    "scale_depth": Builtin(scale_depth, ("n", "mult"), 2, "ceil(n * mult): a depth multiplier"),
    "scale_channels": Builtin(scale_channels, ("c", "mult", "divisor"), 2, "make_divisible(c * mult, divisor)"),
    "ceil": Builtin(lambda x: math.ceil(x), ("x",), 1, "round up to an integer"),
    "floor": Builtin(lambda x: math.floor(x), ("x",), 1, "round down to an integer"),
    "round": Builtin(lambda x: round(x), ("x",), 1, "round to the nearest integer (half to even)"),
    "int": Builtin(lambda x: int(x), ("x",), 1, "truncate to an integer"),
    "float": Builtin(lambda x: float(x), ("x",), 1, "convert to a number"),
    "min": Builtin(lambda a, b: min(a, b), ("a", "b"), 2, "the smaller of a and b"),
    "max": Builtin(lambda a, b: max(a, b), ("a", "b"), 2, "the larger of a and b"),
    "abs": Builtin(lambda x: abs(x), ("x",), 1, "absolute value"),
}

_NUMERIC_ONLY = {"ceil", "floor", "round", "int", "float", "min", "max", "abs", "scale_depth", "scale_channels"}


def _check_range(v: Any, span: Span) -> Any:
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        raise error("E505", "the value is not a finite number", span)
    if _num(v) and abs(v) > MAX_MAGNITUDE:
        raise error(
            "E505",
            f"the value {v:.3g} is out of range (magnitude above 1e18)",
            span,
            help="sizes this large are refused before anything is built",
        )
    return v


class Evaluator:
    """Evaluates expressions against a lookup function for names.

    ``tick`` (when given) is called with the span of every expression node evaluated, so the
    resolver can charge long expressions, evaluated once per repetition, to its work budget.
    """

    def __init__(
        self,
        lookup: Callable[[str, Span], Any],
        names: Callable[[], set[str]],
        callables: Callable[[], set[str]] | None = None,
        tick: Callable[[Span], None] | None = None,
    ):
        self.lookup = lookup
        self.names = names
        self.callables = callables or (lambda: set())
        self.tick = tick

    def eval(self, e: ast.Expr) -> Any:
        try:
            return self._eval(e)
        except RecursionError:
            raise error("E106", "the expression is nested too deeply", e.span) from None

    def _eval(self, e: ast.Expr) -> Any:
        if self.tick is not None:
            self.tick(e.span)
        if isinstance(e, (ast.Num, ast.Str, ast.Const)):
            return e.value
        if isinstance(e, ast.Name):
            return self.lookup(e.id, e.span)
        if isinstance(e, ast.Attr):
            obj = self.lookup(e.obj, e.span)
            if not isinstance(obj, TensorVal):
                raise error(
                    "E250",
                    f"'{e.obj}' is {type_name(obj)}, it has no attribute '{e.attr}'",
                    e.span,
                    help="attributes .c, .h and .w exist on tensors, e.g. in.c",
                )
            if e.attr not in ("c", "h", "w"):
                raise error(
                    "E250",
                    f"tensors have no attribute '{e.attr}'",
                    e.span,
                    help=did_you_mean(e.attr, {"c", "h", "w"}) or "use .c (channels), .h or .w",
                )
            return getattr(obj.type, e.attr)
        if isinstance(e, ast.UnOp):
            v = self._eval(e.operand)
            if not _num(v):
                raise error("E260", f"unary '{e.op}' needs a number, got {type_name(v)} {show(v)}", e.span)
            return -v if e.op == "-" else v
        if isinstance(e, ast.BinOp):
            return _check_range(self._binop(e), e.span)
        if isinstance(e, ast.BoolOp):
            return self._boolop(e)
        if isinstance(e, ast.IfExp):
            test = self._eval(e.test)
            if not isinstance(test, bool):
                raise error("E261", f"the condition must be true or false, got {type_name(test)}", e.test.span)
            return self._eval(e.body) if test else self._eval(e.orelse)
        if isinstance(e, ast.FCall):
            return _check_range(self._call(e), e.span)
        raise error("E299", "unsupported expression", e.span)

    def _binop(self, e: ast.BinOp) -> Any:
        a = self._eval(e.left)
        b = self._eval(e.right)
        op = e.op
        if op in ("==", "!="):
            if isinstance(a, TensorVal) or isinstance(b, TensorVal):
                raise error("E260", "tensors cannot be compared; compare their sizes (x.c, x.h, x.w)", e.span)
            eq = (a == b) and (isinstance(a, bool) == isinstance(b, bool))
            return eq if op == "==" else not eq
        if op in ("<", ">", "<=", ">="):
            if not _num(a, b):
                raise error("E260", f"'{op}' compares numbers, got {type_name(a)} and {type_name(b)}", e.span)
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        if not _num(a, b):
            hint = None
            if isinstance(a, TensorVal) or isinstance(b, TensorVal):
                hint = "to combine tensors use add(a, b) or mul(a, b) in a pipeline"
            raise error("E260", f"'{op}' needs numbers, got {type_name(a)} and {type_name(b)}", e.span, help=hint)
        if op in ("/", "//", "%") and b == 0:
            raise error("E260", "division by zero", e.right.span)
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        if op == "//":
            return a // b
        return a % b

    def _boolop(self, e: ast.BoolOp) -> bool:
        def as_bool(x: ast.Expr) -> bool:
            v = self._eval(x)
            if not isinstance(v, bool):
                raise error("E261", f"'{e.op}' needs true or false, got {type_name(v)} {show(v)}", x.span)
            return v

        if e.op == "not":
            return not as_bool(e.operands[0])
        if e.op == "and":
            return as_bool(e.operands[0]) and as_bool(e.operands[1])
        return as_bool(e.operands[0]) or as_bool(e.operands[1])

    def _call(self, e: ast.FCall) -> Any:
        b = BUILTINS.get(e.func)
        if b is None:
            help = did_you_mean(e.func, set(BUILTINS))
            if e.func in self.callables():
                help = f"'{e.func}' is an op or block: it belongs in a pipeline, not in an expression"
            raise error(
                "E203",
                f"unknown function '{e.func}'",
                e.name_span,
                help=help or "functions: " + ", ".join(sorted(BUILTINS)),
            )
        values: dict[str, Any] = {}
        pos = 0
        for a in e.args:
            if a.name is None:
                if values and any(k not in b.params[:pos] for k in values):
                    raise error("E305", "positional argument after a keyword argument", a.span)
                if pos >= len(b.params):
                    raise error("E303", f"{e.func}() takes at most {len(b.params)} arguments", a.span)
                key = b.params[pos]
                pos += 1
            else:
                key = a.name
                if key not in b.params:
                    raise error(
                        "E302",
                        f"{e.func}() has no argument '{key}'",
                        a.span,
                        help=did_you_mean(key, set(b.params)) or "arguments: " + ", ".join(b.params),
                    )
            if key in values:
                raise error("E305", f"argument '{key}' given twice", a.span)
            v = self._eval(a.value)
            if isinstance(v, (TensorVal, str)) or (e.func in _NUMERIC_ONLY and v is None):
                raise error("E320", f"{e.func}() needs numbers, got {type_name(v)}", a.span)
            if isinstance(v, bool):
                raise error("E320", f"{e.func}() needs numbers, got a boolean", a.span)
            values[key] = v
        missing = [p for p in b.params[: b.required] if p not in values]
        if missing:
            raise error("E304", f"{e.func}() needs argument '{missing[0]}'", e.span, help=b.doc)
        try:
            return b.fn(**values)
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
            raise error("E260", f"{e.func}() failed: {exc}", e.span) from None


def expect_int(v: Any, span: Span, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise error("E320", f"{what} must be an integer, got {type_name(v)} {show(v)}", span)
    if isinstance(v, float):
        if not v.is_integer():
            raise error(
                "E320",
                f"{what} must be an integer, got {v}",
                span,
                help="use // for integer division, or round(), ceil(), make_divisible()",
            )
        v = int(v)
    return v


__all__ = ["BUILTINS", "POISON", "DiagnosticError", "Evaluator", "Poisoned", "TensorVal", "expect_int"]
