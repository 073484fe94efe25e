"""Evaluation of the expression sub-language: numbers, strings, booleans, arithmetic (``**``
included), comparisons, conditions and the pure functions of :mod:`archdsl.resolve.functions`.
A tree walk over the AST; nothing is ever handed to Python's ``eval``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archdsl.diagnostics import DiagnosticError, Span, did_you_mean, error
from archdsl.resolve.binding import bind
from archdsl.resolve.functions import (
    FUNCTIONS,
    MAX_MAGNITUDE,
    check_range,
    make_divisible,
    power,
    scale_channels,
    scale_depth,
)
from archdsl.resolve.limits import Budget
from archdsl.resolve.values import POISON, Poisoned, TensorVal, got, is_number, show, type_name
from archdsl.syntax import ast


class Evaluator:
    """Evaluates expressions against a lookup function for names.

    ``is_callable`` says whether a name is an op or block (for the help of an unknown function).
    ``budget`` (when given) is charged one step for every expression node evaluated, so the
    resolver can charge long expressions, evaluated once per repetition, to its work budget.
    """

    def __init__(
        self,
        lookup: Callable[[str, Span], Any],
        is_callable: Callable[[str], bool] | None = None,
        budget: Budget | None = None,
    ):
        self.lookup = lookup
        self.is_callable = is_callable or (lambda name: False)
        self.budget = budget

    def eval(self, e: ast.Expr) -> Any:
        try:
            return self._eval(e)
        except RecursionError:
            raise error("E106", "the expression is nested too deeply", e.span) from None

    def _eval(self, e: ast.Expr) -> Any:
        budget = self.budget
        if budget is not None:
            budget.left -= 1  # Budget.spend, inlined (every expression node)
            if budget.left < 0:
                budget.spend(e.span, 0)  # raises E506
        t = type(e)  # the two commonest first, by exact type; subclasses go the isinstance way below
        if t is ast.Name:
            return self.lookup(e.id, e.span)
        if t is ast.Num:
            return e.value
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
            if not is_number(v):
                raise error("E260", f"unary '{e.op}' needs a number, got {type_name(v)} {show(v)}", e.span)
            return -v if e.op == "-" else v
        if isinstance(e, ast.BinOp):
            return check_range(self._binop(e), e.span)
        if isinstance(e, ast.BoolOp):
            return self._boolop(e)
        if isinstance(e, ast.IfExp):
            test = self._eval(e.test)
            if not isinstance(test, bool):
                raise error("E261", f"the condition must be true or false, got {type_name(test)}", e.test.span)
            return self._eval(e.body) if test else self._eval(e.orelse)
        if isinstance(e, ast.FCall):
            return check_range(self._call(e), e.span)
        if isinstance(e, ast.Tuple):
            items = tuple(self._eval(x) for x in e.items)
            for x, v in zip(e.items, items, strict=True):
                if not is_number(v) and not isinstance(v, str):
                    raise error("E260", f"a tuple holds numbers or strings, got {type_name(v)}", x.span)
            return items
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
            if not is_number(a, b):
                raise error("E260", f"'{op}' compares numbers, got {type_name(a)} and {type_name(b)}", e.span)
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        if not is_number(a, b):
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
        if op == "**":
            return power(a, b, e.span)
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
        f = FUNCTIONS.get(e.func)
        if f is None:
            help = did_you_mean(e.func, set(FUNCTIONS))
            if self.is_callable(e.func):
                help = f"'{e.func}' is an op or block: it belongs in a pipeline, not in an expression"
            raise error(
                "E203",
                f"unknown function '{e.func}'",
                e.name_span,
                help=help or "functions: " + ", ".join(sorted(FUNCTIONS)),
            )
        b = bind(f.signature, e.args, e.span, self._eval)
        try:
            return f.call(b, e.span)
        except (TypeError, ValueError, ZeroDivisionError) as exc:
            raise error("E260", f"{e.func}() failed: {exc}", e.span) from None
        except OverflowError:
            raise error("E505", f"the value of {e.func}() is out of range", e.span) from None


def expect_int(v: Any, span: Span, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise error("E320", f"{what} must be an integer, got {got(v)}", span)
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


__all__ = [
    "FUNCTIONS",
    "MAX_MAGNITUDE",
    "POISON",
    "DiagnosticError",
    "Evaluator",
    "Poisoned",
    "TensorVal",
    "expect_int",
    "make_divisible",
    "scale_channels",
    "scale_depth",
    "show",
    "type_name",
]
