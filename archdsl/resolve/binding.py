"""The one argument binder: ops, blocks, nets (``extends`` and ``-p`` overrides), the built-in
constructs (``columns``, ``residual``) and the expression functions all match arguments here.

Whatever takes arguments describes them as a :class:`Signature` (names, the positional order,
which are required, defaults, the kind of value each takes, variadic inputs or values), and
:func:`bind` turns the arguments written in the spec into values, or into the one set of argument
diagnostics: E302 (unknown argument, with a did-you-mean that knows PyTorch's and timm's names),
E303 (too many positional), E304 (missing), E305 (positional after keyword, or given twice), E311
(a tensor passed to an op that takes its input from the pipeline), E320 (a value of the wrong
kind) and E308 (``first(...)`` with a positional argument).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, get_args

from archdsl.diagnostics import Diagnostic, DiagnosticError, Span, error
from archdsl.ops import OpSpec
from archdsl.resolve.suggest import NameIndex, suggest
from archdsl.resolve.values import TensorVal, got, is_number
from archdsl.syntax import ast

# Argument names people bring from PyTorch/timm, for did-you-mean help.
ARG_ALIASES = {
    "kernel": "k",
    "kernel_size": "k",
    "stride": "s",
    "padding": "p",
    "pad": "p",
    "dilation": "d",
    "channels": "c",
    "out": "c",
    "out_channels": "c",
    "out_chs": "c",
    "out_features": "c",
    "group": "groups",
    "num_heads": "heads",
    "patch": "p",
    "patch_size": "p",
    "scale_factor": "scale",
    "filter": "filt",
    "filt_size": "filt",
    "drop": "p",
    "rate": "p",
}

# what a parameter accepts
EXPR = "expression"  # kept unevaluated (a net's parameter given by extends becomes its new default)
VALUE = "value"  # anything but a tensor
NUMBER = "number"  # an integer or a number
NUMBER_OR_NONE = "number or none"
INTEGER = "integer"  # a whole number (an integral float is accepted and made an int)

# where a call's tensors come from
NO_INPUTS = "none"
PIPELINE = "pipeline"  # the flowing tensor; a tensor argument is an error (E311)
VARIADIC = "variadic"  # the flowing tensor and any tensors given positionally (add(a, b))


@dataclass(frozen=True)
class Param:
    name: str
    required: bool = False
    kind: str = VALUE
    default: Any = None  # the value when not given, for built-ins and functions (blocks and nets
    # evaluate their default expressions themselves, ops leave it to their schema)
    annotation: Any = None  # an op schema's type: an integral float becomes an int where it wants one
    doc: str | None = None
    span: Span | None = None  # where it is declared, for blocks and nets
    whole: bool = field(init=False, repr=False, compare=False)  # the annotation wants an int, not a float

    def __post_init__(self) -> None:
        kinds = set(get_args(self.annotation)) or {self.annotation}
        object.__setattr__(self, "whole", int in kinds and float not in kinds)


@dataclass(frozen=True, eq=False)
class Signature:
    kind: str  # "op", "block", "net", "builtin" or "function"
    name: str
    params: tuple[Param, ...]
    positional: tuple[str, ...] = ()
    inputs: str = NO_INPUTS
    varargs: Param | None = None  # any number of positional values (min, max), at least min_varargs
    min_varargs: int = 0
    help: str | None = None  # what it does, for the help of E304
    by_name: dict[str, Param] = field(init=False, repr=False)
    required: tuple[Param, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {p.name: p for p in self.params})
        object.__setattr__(self, "required", tuple(p for p in self.params if p.required))

    @functools.cached_property
    def index(self) -> NameIndex:
        return NameIndex(self.by_name)

    @property
    def title(self) -> str:
        return {"op": f"'{self.name}'", "block": f"block '{self.name}'", "net": f"net '{self.name}'"}.get(
            self.kind, f"{self.name}()" if self.kind == "function" else self.name
        )

    @property
    def word(self) -> str:
        return "parameter" if self.kind == "net" else "argument"

    # ---- the diagnostics, each written once ----------------------------------------------
    def unknown(self, key: str, span: Span | None) -> DiagnosticError:
        names = list(self.by_name)
        listing = f"{self.word}s: " + ", ".join(names) if names else f"{self.title} takes no {self.word}s"
        return error(
            "E302", f"{self.title} has no {self.word} '{key}'", span, help=arg_help(key, self.index) or listing
        )

    def too_many(self, span: Span) -> DiagnosticError:
        n = len(self.positional)
        keyword_only = [p.name for p in self.params if p.name not in self.positional]
        what = f"positional {self.word}" if keyword_only else self.word
        msg = f"{self.title} takes {n or 'no'} {what}{'s' if n != 1 else ''}"
        if n:
            msg += f" ({', '.join(self.positional)})"
        help = None
        if self.kind == "op" and n:
            help = "name the argument, e.g. k = 3"
        elif keyword_only:
            help = f"name the argument, e.g. {keyword_only[0]} = ..."
        return error("E303", msg, span, help=help)

    def missing(self, p: Param, span: Span | None) -> Diagnostic:
        desc = f" ({p.doc})" if p.doc else ""
        if self.kind == "net":
            return Diagnostic(
                "E304",
                f"net '{self.name}' needs a value for parameter '{p.name}'",
                p.span,
                help=f"give it a default in the spec, or pass {p.name}=... on the command line",
            )
        help = {"op": f"e.g. {self.name}({p.name} = ...)", "block": f"defined at {p.span}"}.get(self.kind, self.help)
        return Diagnostic("E304", f"{self.title} needs {self.word} '{p.name}'{desc}", span, help=help)

    def wrong(self, label: str, kind: str, v: Any, span: Span) -> DiagnosticError:
        """E320: argument ``label`` (a name, or a position among variadic values) got ``v``."""
        if kind == VALUE:
            return error("E320", f"argument {label} of {self.title} must be a value, not a tensor", span)
        want = "an integer" if kind == INTEGER else "a number"
        return error("E320", f"argument {label} of {self.title} must be {want}, got {got(v)}", span)


def arg_help(key: str, names: NameIndex) -> str | None:
    """A did-you-mean for an unknown argument: a close name, or the archdsl name of a PyTorch one."""
    alias = ARG_ALIASES.get(key)
    if alias is None:
        close = difflib.get_close_matches(key, list(ARG_ALIASES), n=1, cutoff=0.75)
        alias = ARG_ALIASES[close[0]] if close else None
    direct = suggest(key, names)
    if direct is None and alias is not None and alias in names:
        return f"did you mean '{alias}'?"
    return direct


class Bound:
    """The arguments of one call, matched: values by name (only those given), where each was
    written, the tensors given as arguments (variadic ops) and the variadic values (functions)."""

    __slots__ = ("inputs", "rest", "rest_spans", "spans", "values")

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.spans: dict[str, Span] = {}
        self.inputs: list[TensorVal] = []
        self.rest: list[Any] = []
        self.rest_spans: list[Span] = []

    def get(self, sig: Signature, name: str) -> Any:
        return self.values[name] if name in self.values else sig.by_name[name].default


def coerce(v: Any, annotation: Any) -> Any:
    """An integral float where an op's schema wants an int (``conv(64 / 2)``) becomes the int."""
    kinds = set(get_args(annotation)) or {annotation}
    if int in kinds and float not in kinds and isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _checked(sig: Signature, label: str, p: Param, v: Any, span: Span) -> Any:
    if isinstance(v, TensorVal):
        raise sig.wrong(label, p.kind, v, span)
    if p.kind != VALUE and p.kind != EXPR:
        if not (is_number(v) or (v is None and p.kind == NUMBER_OR_NONE)):
            raise sig.wrong(label, p.kind, v, span)
        if p.kind == INTEGER and isinstance(v, float):
            if not v.is_integer():
                raise sig.wrong(label, p.kind, v, span)
            v = int(v)
    if p.whole and isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def bind(
    sig: Signature,
    args: Sequence[ast.Arg],
    span: Span,
    evaluate: Callable[[ast.Expr], Any] | None,
    first: Sequence[ast.Arg] = (),
    partial: bool = False,
) -> Bound:
    """Match ``args`` (then the keyword-only ``first`` overrides of a repeat's first iteration)
    against ``sig``. Values are evaluated with ``evaluate`` in the order written; with None they
    are kept as expressions. ``partial`` skips the check for missing arguments (``extends``)."""
    b = Bound()
    overridden = {a.name for a in first if a.name is not None} if first else ()
    given: set[str] = set()
    seen_kw = False
    pos = 0
    for a in args:
        v: Any = None
        evaluated = False
        if a.name is None:
            if seen_kw:
                raise error("E305", "positional argument after a keyword argument", a.span)
            if sig.inputs != NO_INPUTS:  # the value decides: a tensor is an input (or E311)
                v = a.value if evaluate is None else evaluate(a.value)
                evaluated = True
                if isinstance(v, TensorVal):
                    if sig.inputs == PIPELINE:
                        name = a.value.id if isinstance(a.value, ast.Name) else "x"
                        raise error(
                            "E311",
                            f"'{sig.name}' takes its input from the pipeline, not as an argument",
                            a.span,
                            help=f"write {name} -> {sig.name}(...)",
                        )
                    b.inputs.append(v)
                    continue
            if pos >= len(sig.positional):
                if sig.varargs is None:
                    raise sig.too_many(a.span)
                if not evaluated:
                    v = a.value if evaluate is None else evaluate(a.value)
                b.rest.append(_checked(sig, str(len(b.rest) + 1), sig.varargs, v, a.span))
                b.rest_spans.append(a.span)
                continue
            key = sig.positional[pos]
            pos += 1
        else:
            seen_kw = True
            key = a.name
            if key not in sig.by_name:
                raise sig.unknown(key, a.span)
        if key in given:
            raise error("E305", f"{sig.word} '{key}' given twice", a.span)
        given.add(key)
        if key in overridden:
            continue  # first(...) gives this one
        if not evaluated:
            v = a.value if evaluate is None else evaluate(a.value)
        b.values[key] = v if evaluate is None else _checked(sig, f"'{key}'", sig.by_name[key], v, a.span)
        b.spans[key] = a.span
    seen_first: set[str] = set()
    for a in first:
        if a.name is None:
            raise error("E308", "first(...) takes keyword arguments, e.g. first(s = 2)", a.span)
        if a.name not in sig.by_name:
            raise sig.unknown(a.name, a.span)
        if a.name in seen_first:
            raise error("E305", f"{sig.word} '{a.name}' given twice", a.span)
        seen_first.add(a.name)
        v = a.value if evaluate is None else evaluate(a.value)
        b.values[a.name] = v if evaluate is None else _checked(sig, f"'{a.name}'", sig.by_name[a.name], v, a.span)
        b.spans[a.name] = a.span
    if not partial:
        for p in sig.required:
            if p.name not in b.values:
                raise DiagnosticError([sig.missing(q, span) for q in sig.required if q.name not in b.values])
        if sig.varargs is not None and len(b.rest) < sig.min_varargs:
            raise error("E304", f"{sig.title} needs at least {sig.min_varargs} {sig.word}s", span, help=sig.help)
    return b


def check_names(sig: Signature, names: Sequence[str], span: Span | None) -> None:
    """Values given by name from outside the spec (``-p width=0.5``): E302 for the first unknown."""
    unknown = sorted(set(names) - set(sig.by_name))
    if unknown:
        raise sig.unknown(unknown[0], span)


_OP_SIGNATURES: dict[int, tuple[OpSpec, Signature]] = {}  # by id(spec); the spec is kept, so its id stays its own


def op_signature(spec: OpSpec) -> Signature:
    """An op's arguments are its schema's fields (without the ``op`` tag), in the schema's order.

    Made once per op (every op call asks; a dict by identity, since hashing an OpSpec hashes all
    of its fields)."""
    done = _OP_SIGNATURES.get(id(spec))
    if done is not None and done[0] is spec:
        return done[1]
    params = tuple(
        Param(k, required=f.is_required(), annotation=f.annotation, doc=f.description)
        for k, f in spec.args.model_fields.items()
        if k != "op"
    )
    sig = Signature("op", spec.name, params, tuple(spec.positional), inputs=VARIADIC if spec.variadic else PIPELINE)
    _OP_SIGNATURES[id(spec)] = (spec, sig)
    return sig


def def_signature(kind: str, name: str, params: Sequence[ast.Param]) -> Signature:
    """A block's or a net's parameters: every one positional, required when it has no default."""
    ps = tuple(Param(p.name, required=p.default is None, span=p.span) for p in params)
    return Signature(kind, name, ps, tuple(p.name for p in ps))


COLUMNS = Signature(
    "builtin",
    "columns",
    (Param("n"), Param("split", default=False), Param("join", default="concat"), Param("out")),
    positional=("n",),
)
RESIDUAL = Signature("builtin", "residual", ())
