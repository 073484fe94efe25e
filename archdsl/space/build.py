"""A ``space`` definition of the AST → a checked :class:`~archdsl.space.model.Space`.

Every mistake of a space is a located diagnostic, collected so that one ``archdsl check`` reports
them all: an unknown net (E204) or parameter (E302, with a did-you-mean), a parameter given twice
(E340), a parameter of the net without default that the space leaves open (E304), an empty choice
or a range with ``lo > hi`` (E341), a bad step (E342), a log scale that cannot be (E343), bounds
or values of the wrong type (E344), meta values of the wrong type (E345). The arguments of the
domain constructors are matched by the resolver's one binder (:mod:`archdsl.resolve.binding`), and
their values are constant expressions evaluated by the resolver's evaluator (``10 ** 6`` is fine,
a name is E202).

Inside a space entry, a call of ``choice``, ``int`` or ``float`` *at the top level* of the value is
a domain constructor; anywhere deeper (``width = int(2.5) * 2``) ``int`` and ``float`` are the
expression functions, so a fixed value can still use them.
"""

from __future__ import annotations

import contextlib
import math
import re
from typing import Any

from archdsl.diagnostics import Diagnostic, DiagnosticError, Severity, Span, did_you_mean, error
from archdsl.resolve.binding import NUMBER, NUMBER_OR_NONE, VALUE, Param, Signature, bind, def_signature
from archdsl.resolve.expr import Evaluator
from archdsl.resolve.program import Program
from archdsl.resolve.resolver import Resolver
from archdsl.resolve.suggest import NameIndex, suggest
from archdsl.resolve.values import got, show
from archdsl.space.model import Choice, Domain, Fixed, FloatRange, IntRange, Space
from archdsl.syntax import ast

DOMAINS = ("choice", "int", "float")

CHOICE = Signature("function", "choice", (), varargs=Param("value", kind=VALUE), help="a domain: choice(v1, v2, ...)")
INT = Signature(
    "function",
    "int",
    (
        Param("lo", required=True, kind=NUMBER),
        Param("hi", required=True, kind=NUMBER),
        Param("step", default=1, kind=NUMBER),
        Param("log", default=False),
    ),
    positional=("lo", "hi"),
    help="a domain: int(lo, hi, step = 1, log = false)",
)
FLOAT = Signature(
    "function",
    "float",
    (
        Param("lo", required=True, kind=NUMBER),
        Param("hi", required=True, kind=NUMBER),
        Param("step", default=None, kind=NUMBER_OR_NONE),
        Param("log", default=False),
    ),
    positional=("lo", "hi"),
    help="a domain: float(lo, hi, step = none, log = false)",
)

# meta keys archdsl explore reads, and what each takes
COUNT_KEYS = ("max_params", "min_params", "max_macs", "min_macs")
META_KEYS = (*COUNT_KEYS, "max_latency_ms", "constraint", "objectives")
_OBJECTIVE = re.compile(r"[A-Za-z_][A-Za-z0-9_.:\-]*")


def _constant_lookup(name: str, span: Span) -> Any:
    raise error(
        "E202",
        f"unknown name '{name}'",
        span,
        help="the values of a space are constants (numbers, strings, true/false, none and arithmetic on them)",
    )


_CONST = Evaluator(_constant_lookup)


def _category(v: Any) -> str:
    """What kind of value a parameter holds, for E344: numbers are one kind (1 and 1.5 mix)."""
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    return "none"


_PLURAL = {"boolean": "true or false", "number": "numbers", "string": "strings"}


class _Builder:
    def __init__(self, prog: Program, sdef: ast.SpaceDef, resolver: Resolver):
        self.prog = prog
        self.sdef = sdef
        self.resolver = resolver
        self.diags: list[Diagnostic] = []

    def fail(self, exc: DiagnosticError) -> None:
        self.diags.extend(exc.diagnostics)

    # ---- the whole space ------------------------------------------------------------------
    def build(self) -> Space:
        sdef = self.sdef
        net = sdef.extends.name
        if net not in self.prog.nets:
            what = "a space" if net in self.prog.spaces else None
            help = (
                f"'{net}' is {what}; a space extends a net" if what else suggest(net, NameIndex(self.prog.nets))
            ) or ("nets: " + ", ".join(sorted(self.prog.nets)) if self.prog.nets else "import the file of the net")
            raise error("E204", f"unknown net '{net}'", sdef.extends.span, help=help)
        params = self.resolver.net_params(net)
        sig = def_signature("net", net, params)
        domains: dict[str, Domain] = {}
        where: dict[str, Span] = {}
        try:
            given = bind(sig, sdef.extends.args, sdef.extends.span, None, partial=True)
        except DiagnosticError as exc:
            self.fail(exc)
        else:
            for k, e in given.values.items():
                self._value(k, e, given.spans[k], domains, where, lambda e=e: Fixed(_CONST.eval(e), e.span))
        for entry in sdef.entries:
            if entry.name not in sig.by_name:
                self.fail(sig.unknown(entry.name, entry.name_span))
                continue
            self._value(entry.name, entry, entry.name_span, domains, where, lambda entry=entry: self.domain(entry))
        defaults = self._defaults(params, domains)
        for p in params:
            if p.default is None and p.name not in domains and p.name not in where:
                self.diags.append(
                    Diagnostic(
                        "E304",
                        f"space '{sdef.name}' gives no value for parameter '{p.name}' of net '{net}', "
                        "which has no default",
                        sdef.name_span,
                        help=f"add an entry, e.g. {p.name} = choice(...), or a fixed {p.name} = ...",
                        notes=(f"'{p.name}' is declared at {p.span}",),
                    )
                )
        meta = self._meta()
        if self.diags:
            self.diags.sort(key=lambda d: (d.span.line, d.span.col) if d.span is not None else (0, 0))
            raise DiagnosticError(self.diags)
        return Space(sdef.name, net, domains, meta, sdef.span.file, sdef.span, defaults, sdef.name_span)

    def _value(self, name, node, span, domains, where, make) -> None:
        if name in where:
            self.diags.append(
                Diagnostic(
                    "E340",
                    f"parameter '{name}' is given twice in space '{self.sdef.name}'",
                    span,
                    notes=(f"first given at {where[name]}",),
                )
            )
            return
        where[name] = span
        try:
            domains[name] = make()
        except DiagnosticError as exc:
            self.fail(exc)

    def _defaults(self, params: list[ast.Param], domains: dict[str, Domain]) -> dict[str, Any]:
        """The net's own default of each parameter (evaluated with the earlier parameters at their
        default-point values); a default that cannot be evaluated alone is left out. Checks each
        domain against its parameter's default (E344)."""
        values: dict[str, Any] = {}
        defaults: dict[str, Any] = {}

        def lookup(name: str, span: Span) -> Any:
            if name in values:
                return values[name]
            raise error("E202", f"unknown name '{name}'", span)

        ev = Evaluator(lookup)
        for p in params:
            dflt: Any = None
            has = False
            if p.default is not None:
                with contextlib.suppress(DiagnosticError):  # a default that needs the net's inputs
                    dflt, has = ev.eval(p.default), True
            d = domains.get(p.name)
            if d is None:
                values[p.name] = dflt
                continue
            if has:
                defaults[p.name] = dflt
                self._check_type(p, dflt, d)
            if isinstance(d, Fixed):
                values[p.name] = d.value
            else:
                values[p.name] = dflt if has and d.contains(dflt) else d.first()
        return {k: v for k, v in defaults.items() if not isinstance(domains[k], Fixed)}

    def _check_type(self, p: ast.Param, dflt: Any, d: Domain) -> None:
        want = _category(dflt)
        if want == "none":
            return  # a default of none says nothing of the values the net takes
        values = d.values if isinstance(d, Choice) else (d.value,) if isinstance(d, Fixed) else (d.lo,)
        for v in values:
            if _category(v) != want:
                self.diags.append(
                    Diagnostic(
                        "E344",
                        f"parameter '{p.name}' takes {_PLURAL[want]} (its default is {show(dflt)}), "
                        f"the space gives {got(v)}",
                        d.span,
                        notes=(f"'{p.name}' is declared at {p.span}",),
                    )
                )
                return

    # ---- one domain -------------------------------------------------------------------------
    def domain(self, entry: ast.SpaceEntry) -> Domain:
        e = entry.value
        if not (isinstance(e, ast.FCall) and e.func in DOMAINS):
            return Fixed(_CONST.eval(e), e.span)
        if e.func == "choice":
            return self._choice(e)
        return self._range(e, INT if e.func == "int" else FLOAT)

    def _choice(self, e: ast.FCall) -> Choice:
        b = bind(CHOICE, e.args, e.span, _CONST.eval)
        if not b.rest:
            raise error("E341", "choice() needs at least one value", e.span, help="e.g. choice(0.75, 1.0, 1.25)")
        seen: set[tuple[bool, Any]] = set()  # (is a boolean, value): true is not 1, 1 is 1.0
        for v, sp in zip(b.rest, b.rest_spans, strict=True):
            if not isinstance(v, (bool, int, float, str)) and v is not None:
                raise error("E344", f"a choice is of numbers, strings, booleans or none, got {got(v)}", sp)
            key = (isinstance(v, bool), v)
            if key in seen:
                raise error("E341", f"choice() lists {show(v)} twice", sp, help="each value once")
            seen.add(key)
        return Choice(tuple(b.rest), e.span)

    def _range(self, e: ast.FCall, sig: Signature) -> Domain:
        try:
            b = bind(sig, e.args, e.span, _CONST.eval)
        except DiagnosticError as exc:
            if len(e.args) == 1 and [d.code for d in exc.diagnostics] == ["E304"]:  # int(x) meant as a number
                raise error(
                    "E304",
                    f"{sig.name}() in a space entry is a domain and needs 'lo' and 'hi'",
                    e.span,
                    help=f"e.g. {sig.name}(1, 8); for a fixed value write the value itself "
                    f"(the expression function {sig.name}(x) works inside an expression: {sig.name}(x) * 1)",
                ) from None
            raise
        lo, hi = b.values["lo"], b.values["hi"]
        step, log = b.get(sig, "step"), b.get(sig, "log")
        spans = b.spans
        if not isinstance(log, bool):
            raise error("E320", f"argument 'log' of {sig.name}() must be true or false, got {got(log)}", spans["log"])
        if sig is INT:
            for key in ("lo", "hi", "step"):
                v = b.get(sig, key)
                if isinstance(v, float) and not v.is_integer():
                    raise error(
                        "E344",
                        f"'{key}' of int() must be an integer, got {show(v)}",
                        spans.get(key, e.span),
                        help="use float(lo, hi) for a range of numbers",
                    )
            lo, hi, step = int(lo), int(hi), int(step)
        if lo > hi:
            raise error("E341", f"the range is empty: lo = {show(lo)} is above hi = {show(hi)}", e.span)
        if step is not None and step <= 0:
            raise error("E342", f"the step must be above 0, got {show(step)}", spans["step"])
        if log and lo <= 0:
            raise error(
                "E343",
                f"a log-scale range needs lo above 0, got {show(lo)}",
                spans["lo"],
                help="drop log = true, or start the range above 0",
            )
        if log and step is not None and (sig is FLOAT or step != 1):
            raise error("E343", "a log-scale range takes no step", spans["step"], help="drop the step, or log = true")
        if sig is INT:
            if (hi - lo) % step:
                raise error(
                    "E342",
                    f"the step {step} does not divide the range {lo}..{hi}",
                    spans["step"],
                    help=f"end the range on the grid, e.g. int({lo}, {hi - (hi - lo) % step}, step = {step})",
                )
            return IntRange(lo, hi, step, log, e.span)
        lo, hi = float(lo), float(hi)
        if step is not None:
            k = (hi - lo) / step
            if not math.isfinite(k) or abs(k - round(k)) > 1e-9 * max(1.0, abs(k)):
                raise error(
                    "E342",
                    f"the step {show(step)} does not divide the range {show(lo)}..{show(hi)}",
                    spans["step"],
                    help="end the range on the grid, lo + k * step",
                )
            if round(k) + 1 > 1 << 62:
                raise error("E342", f"the step {show(step)} makes more than 2**62 values", spans["step"])
            step = float(step)
        return FloatRange(lo, hi, step, log, e.span)

    # ---- meta ---------------------------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        spans: dict[str, Span] = {}
        for stmt in self.sdef.meta:
            for entry in stmt.entries:
                if entry.key in meta:
                    self.diags.append(Diagnostic("E243", f"meta key '{entry.key}' is given twice", entry.span))
                    continue
                try:
                    meta[entry.key] = self._meta_value(entry, _CONST.eval(entry.value))
                    spans[entry.key] = entry.span
                except DiagnosticError as exc:
                    self.fail(exc)
        for what in ("params", "macs"):
            lo, hi = meta.get(f"min_{what}"), meta.get(f"max_{what}")
            if lo is not None and hi is not None and lo > hi:
                self.diags.append(
                    Diagnostic(
                        "E345",
                        f"min_{what} = {lo:,} is above max_{what} = {hi:,}: no design can meet both",
                        spans[f"min_{what}"],
                    )
                )
        return meta

    def _meta_value(self, entry: ast.MetaEntry, v: Any) -> Any:
        key, span = entry.key, entry.value.span
        if key in COUNT_KEYS:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or not float(v).is_integer():
                raise error("E345", f"meta '{key}' is a count: a whole number of at least 0, got {got(v)}", span)
            return int(v)
        if key == "max_latency_ms":
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                raise error("E345", f"meta '{key}' is a number of milliseconds above 0, got {got(v)}", span)
            return v
        if key == "constraint":
            return self._constraint(v, span)
        if key == "objectives":
            items = [s.strip() for s in v.split(",")] if isinstance(v, str) else None
            if not items or not all(_OBJECTIVE.fullmatch(s) for s in items):
                raise error(
                    "E345",
                    f"meta 'objectives' is a string of comma-separated objective names, got {got(v)}",
                    span,
                    help='e.g. objectives = "latency, params"',
                )
            return v
        close = did_you_mean(key, set(META_KEYS))
        if close:
            self.diags.append(
                Diagnostic(
                    "E345",
                    f"meta key '{key}' is not one archdsl explore reads",
                    entry.span,
                    Severity.WARNING,
                    help=close,
                )
            )
        return v

    def _constraint(self, v: Any, span: Span) -> str:
        if not isinstance(v, str) or not v.strip():
            raise error(
                "E345",
                f"meta 'constraint' is a string of lint rule codes, got {got(v)}",
                span,
                help='e.g. constraint = "AD101,AD102,AD103,AD104"',
            )
        from archdsl.rules.registry import RegistryError, build_registry, default_registry

        try:
            registry = default_registry()
        except RegistryError:  # a broken plugin: lint reports it; here the built-in rules do
            registry = build_registry()
        for code in (c.strip() for c in v.split(",")):
            rule = registry.get(code)
            if rule is None:
                raise error(
                    "E345",
                    f"'{code}' in meta 'constraint' is not a lint rule code",
                    span,
                    help=registry.suggestion(code) or "the rules: archdsl rules",
                )
        return v


def build_space(prog: Program, sdef: ast.SpaceDef, resolver: Resolver | None = None) -> Space:
    """Check ``sdef`` against its net and make the :class:`Space`; raises :class:`DiagnosticError`
    with every mistake found."""
    return _Builder(prog, sdef, resolver or Resolver(prog)).build()


__all__ = ["DOMAINS", "META_KEYS", "build_space"]
