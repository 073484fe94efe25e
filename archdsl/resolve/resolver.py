"""The resolver: AST → IR. Scopes, parameters, expressions, repeats, columns, blocks, variants.

Naming: every op node gets a hierarchical path. A statement ``name = pipeline`` opens the segment
``name``; inside it each pipeline element gets a segment of its own (``conv``, ``bn``, ``dcac``,
numbered ``conv_1`` ... when repeated in one scope), except that a pipeline of a single element
uses the enclosing segment directly (``stage3 = bottleneck(160) * 10`` gives ``stage3.0`` ...
``stage3.9``). Repeats number their iterations ``0..n-1``; columns name theirs by label or
``col0..colN-1``; a residual's branches are ``body`` and ``shortcut`` and its sum ``add``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import ValidationError

from archdsl.diagnostics import Diagnostic, DiagnosticError, Span, did_you_mean, error
from archdsl.ir import Graph, GraphInput, Node, Scope
from archdsl.ops import OPS, OpError, OpSpec, TensorType
from archdsl.resolve.expr import POISON, Evaluator, Poisoned, TensorVal, expect_int, show, type_name
from archdsl.resolve.limits import DEFAULT_LIMITS, Budget, Limits
from archdsl.resolve.program import Program
from archdsl.syntax import ast

BLOCK_INPUT = "in"

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


@functools.cache
def _user_fields(spec: OpSpec) -> dict[str, Any]:
    """The arguments a user may write for an op (its schema without the ``op`` tag)."""
    return {k: f for k, f in spec.args.model_fields.items() if k != "op"}


def _arg_help(key: str, names: set[str]) -> str | None:
    import difflib

    alias = ARG_ALIASES.get(key)
    if alias is None:
        close = difflib.get_close_matches(key, list(ARG_ALIASES), n=1, cutoff=0.75)
        alias = ARG_ALIASES[close[0]] if close else None
    direct = did_you_mean(key, names)
    if direct is None and alias in names:
        return f"did you mean '{alias}'?"
    return direct


JOINS = ("concat", "add", "mul", "shuffle", "project")
BLOCK_USE_STEPS = 4
"""What a block use costs beyond its element, scope and statements (a frame and evaluator of its own,
its arguments matched): measured, it is several times the work of a plain repeat iteration."""
PATH_CHARS = 128
"""Every element builds its hierarchical path (nodes and scopes keep it): long names nested deep cost
steps in proportion, so the budget bounds memory too."""


@dataclass
class Frame:
    """Names visible in one net or block instance."""

    values: dict[str, Any]
    spans: dict[str, Span]
    chain: tuple[str, ...] = ()
    counters: dict[str, dict[str, int]] = field(default_factory=dict)
    evaluator: Evaluator | None = field(default=None, repr=False, compare=False)

    def bind(self, name: str, value: Any, span: Span) -> None:
        if name in self.values:
            prev = self.spans.get(name)
            raise DiagnosticError(
                Diagnostic(
                    "E240", f"'{name}' is already defined", span, notes=(f"first defined at {prev}",) if prev else ()
                )
            )
        self.values[name] = value
        self.spans[name] = span


def _seg_join(prefix: str, seg: str) -> str:
    return f"{prefix}.{seg}" if prefix else seg


class _Builder:
    """Accumulates nodes and scopes of one net, enforcing the limits as it goes.

    Every unit of expansion work (a stage, a repeat iteration, a column, a block use, an op) is a
    :meth:`step` charged to ``budget``, which the resolver shares between all the nets it resolves.
    """

    def __init__(self, limits: Limits, budget: Budget):
        self.limits = limits
        self.budget = budget
        self.nodes: list[Node] = []
        self.ids: set[str] = set()
        self.scopes: list[Scope] = []
        self.params = 0
        self.counters: dict[str, dict[str, int]] = {}

    def unique(self, prefix: str, base: str) -> str:
        c = self.counters.setdefault(prefix, {})
        n = c.get(base, 0)
        c[base] = n + 1
        path = _seg_join(prefix, base if n == 0 else f"{base}_{n}")
        while path in self.ids:
            n += 1
            c[base] = n + 1
            path = _seg_join(prefix, f"{base}_{n}")
        return path

    def step(self, span: Span | None, path: str = "") -> None:
        """One unit of work, and one more per PATH_CHARS characters of the path it builds or keeps."""
        self.budget.spend(span, 1 + len(path) // PATH_CHARS)

    def scope(self, scope: Scope) -> None:
        self.step(scope.span, scope.path)
        self.scopes.append(scope)

    def check_out(self, op: str, out: TensorType, span: Span | None) -> None:
        """The size limits every op's output is held to: elements per sample, and each dimension."""
        if out.numel > self.limits.max_elements:
            raise error(
                "E502",
                f"'{op}' makes a tensor of {out.numel:,} elements, above the limit of {self.limits.max_elements:,}",
                span,
            )
        if out.layout != "vec" and any(d > self.limits.max_dim for d in out.shape):
            raise error(
                "E501", f"'{op}' makes a tensor {out} with a dimension above the limit of {self.limits.max_dim:,}", span
            )

    def add(self, node: Node) -> None:
        self.step(node.span, node.id)
        self.check_out(node.op, node.out, node.span)
        if len(self.nodes) >= self.limits.max_nodes:
            raise error(
                "E504",
                f"the net has more than {self.limits.max_nodes:,} ops",
                node.span,
                help="a repeat or columns count is probably far too large",
            )
        self.params += node.params
        if self.params > self.limits.max_params:
            raise error("E503", f"the net has more than {self.limits.max_params:,} parameters", node.span)
        if node.id in self.ids:
            raise error(
                "E242", f"two ops got the same path '{node.id}'", node.span, help="give the statements distinct names"
            )
        self.ids.add(node.id)
        self.nodes.append(node)


class Resolver:
    def __init__(self, program: Program, limits: Limits = DEFAULT_LIMITS):
        self.prog = program
        self.limits = limits
        self.budget = Budget(limits.max_steps)
        self._flat: dict[str, tuple[list[ast.Param], list[ast.Stmt], int]] = {}

    # ---- net level ----------------------------------------------------------------------
    def net_names(self) -> list[str]:
        return [n.name for n in self.prog.root.nets]

    def resolve(
        self, net: str, overrides: dict[str, Any] | None = None, input_shape: tuple[int, ...] | None = None
    ) -> Graph:
        """Resolve one net into a validated Graph; raises DiagnosticError with every error found."""
        try:
            return self._resolve(net, overrides, input_shape)
        except RecursionError:
            ndef = self.prog.nets.get(net)
            raise error(
                "E106",
                "the spec is nested too deeply to resolve",
                ndef.name_span if ndef else None,
                help="flatten deeply nested groups or expressions",
            ) from None

    def _resolve(
        self, net: str, overrides: dict[str, Any] | None = None, input_shape: tuple[int, ...] | None = None
    ) -> Graph:
        ndef = self.prog.nets.get(net)
        if ndef is None:
            raise error(
                "E204",
                f"no net named '{net}'",
                None,
                help=did_you_mean(net, set(self.prog.nets)) or "nets: " + ", ".join(sorted(self.prog.nets)),
            )
        self.budget.check_left(net, ndef.name_span)
        params, body, _ = self._flatten(ndef, ())
        b = _Builder(self.limits, self.budget)
        frame = Frame({}, {}, chain=())
        diags: list[Diagnostic] = []
        ev = self._evaluator(frame)
        overrides = dict(overrides or {})
        used: set[str] = set()
        param_values: dict[str, Any] = {}
        for p in params:
            if p.name in overrides:
                v = overrides[p.name]
                used.add(p.name)
            elif p.default is not None:
                v = ev.eval(p.default)
            else:
                raise error(
                    "E304",
                    f"net '{net}' needs a value for parameter '{p.name}'",
                    p.span,
                    help=f"give it a default in the spec, or pass {p.name}=... on the command line",
                )
            frame.bind(p.name, v, p.span)
            param_values[p.name] = v
        unknown = set(overrides) - used
        if unknown:
            name = sorted(unknown)[0]
            raise error(
                "E302",
                f"net '{net}' has no parameter '{name}'",
                ndef.name_span,
                help=did_you_mean(name, {p.name for p in params})
                or "parameters: " + (", ".join(p.name for p in params) or "none"),
            )

        inputs: list[GraphInput] = []
        meta: dict[str, Any] = {}
        stages: list[str] = []
        cur: Any = None
        inputs_failed = False
        for stmt in body:
            if inputs_failed and not isinstance(stmt, ast.MetaStmt):
                cur = POISON
            try:
                if isinstance(stmt, ast.InputStmt):
                    if inputs:
                        raise error("E307", "a net has one input", stmt.span)
                    t = self._input_type(stmt, ev, input_shape)
                    frame.bind(stmt.name, TensorVal(stmt.name, t), stmt.span)
                    inputs.append(GraphInput(name=stmt.name, type=t, span=stmt.span))
                    cur = frame.values[stmt.name]
                elif isinstance(stmt, ast.MetaStmt):
                    for entry in stmt.entries:
                        if entry.key in meta:
                            raise error("E243", f"meta key '{entry.key}' is given twice", entry.span)
                        v = ev.eval(entry.value)
                        if isinstance(v, TensorVal):
                            raise error("E320", "meta values are numbers, strings or booleans", entry.span)
                        meta[entry.key] = v
                elif isinstance(stmt, ast.Assign):
                    self._need_input(stmt, inputs, inputs_failed)
                    self._check_name(stmt.name, stmt.name_span)
                    if stmt.name in frame.values:
                        frame.bind(stmt.name, None, stmt.name_span)  # raises E240 with the first definition
                    b.scope(Scope(path=stmt.name, kind="stage", name=stmt.name, span=stmt.span))
                    out = self._pipeline(stmt.pipeline, cur, stmt.name, frame, b, collapse=True)
                    stages.append(stmt.name)
                    frame.bind(stmt.name, out, stmt.name_span)
                    cur = out
                elif isinstance(stmt, ast.PipeStmt):
                    self._need_input(stmt, inputs, inputs_failed)
                    cur = self._pipeline(stmt.pipeline, cur, "", frame, b, collapse=False)
            except DiagnosticError as exc:
                diags.extend(exc.diagnostics)
                if self.budget.spent:  # E506: the rest would only repeat it
                    raise DiagnosticError(diags) from None
                if isinstance(stmt, ast.Assign) and stmt.name not in frame.values:
                    frame.values[stmt.name] = POISON
                    frame.spans[stmt.name] = stmt.name_span
                cur = POISON
                if isinstance(stmt, ast.InputStmt):
                    inputs_failed = True
            except Poisoned:
                if isinstance(stmt, (ast.Assign, ast.PipeStmt)):
                    diags.extend(self._unknown_names(stmt.pipeline, frame))
                if isinstance(stmt, ast.Assign) and stmt.name not in frame.values:
                    frame.values[stmt.name] = POISON
                cur = POISON
        if diags:
            raise DiagnosticError(diags)
        if not inputs:
            raise error(
                "E309", f"net '{net}' declares no input", ndef.name_span, help="add e.g. input image [3, 224, 224]"
            )
        if not isinstance(cur, TensorVal) or cur.ref == inputs[0].name:
            raise error("E306", f"net '{net}' has no ops", ndef.name_span)
        return Graph(
            name=net,
            file=ndef.span.file,
            params={k: v for k, v in param_values.items() if not isinstance(v, TensorVal)},
            inputs=tuple(inputs),
            nodes=tuple(b.nodes),
            output=cur.ref,
            meta=meta,
            scopes=tuple(b.scopes),
            stages=tuple(stages),
            source_hash=self.prog.source_hash,
        )

    @staticmethod
    def _need_input(stmt: ast.Stmt, inputs: list, inputs_failed: bool) -> None:
        """A pipeline statement needs the net's input declared before it."""
        if inputs:
            return
        if inputs_failed:
            raise Poisoned()  # the input's own error was reported already
        raise error(
            "E309",
            "the net has no input before this statement",
            stmt.span,
            help="declare one first, e.g. input image [3, 224, 224]",
        )

    def _unknown_names(self, pipe: ast.Pipeline, frame: Frame) -> list[Diagnostic]:
        """Unknown op/block names in a pipeline that could not be resolved (its input had an error)."""
        out: list[Diagnostic] = []

        def visit(p: ast.Pipeline) -> None:
            for st in p.stages:
                el = st.element
                if isinstance(el, ast.Call):
                    if el.name not in OPS and el.name not in self.prog.blocks and el.name not in frame.values:
                        try:
                            self._call(el, None, "", frame, _Builder(self.limits, self.budget), True)
                        except DiagnosticError as exc:
                            out.extend(exc.diagnostics)
                        except Poisoned:
                            pass
                elif isinstance(el, ast.Group):
                    visit(el.pipeline)
                elif isinstance(el, ast.Columns):
                    for c in el.columns:
                        visit(c.pipeline)
                elif isinstance(el, ast.Residual):
                    visit(el.body)
                    if el.shortcut is not None:
                        visit(el.shortcut)

        visit(pipe)
        return out

    def _flatten(self, ndef: ast.NetDef, chain: tuple[str, ...]) -> tuple[list[ast.Param], list[ast.Stmt], int]:
        """Params and statements of a net with everything it extends folded in, and how many nets it
        extends (memoised per net; linear in the statements, charged to the budget)."""
        done = self._flat.get(ndef.name)
        if done is not None:
            return done
        if ndef.name in chain:
            raise error("E221", "a net extends itself: " + " → ".join([*chain, ndef.name]), ndef.name_span)
        if len(chain) > self.limits.max_depth:
            raise error("E501", f"nets extend each other more than {self.limits.max_depth} deep", ndef.name_span)
        own_params = list(ndef.params)
        self._check_dup_params(own_params)
        self.budget.spend(ndef.name_span, 1 + len(own_params) + len(ndef.body))
        if ndef.extends is None:
            done = (own_params, list(ndef.body), 0)
            self._flat[ndef.name] = done
            return done
        parent = self.prog.nets.get(ndef.extends.name)
        if parent is None:
            raise error(
                "E204",
                f"unknown net '{ndef.extends.name}'",
                ndef.extends.span,
                help=did_you_mean(ndef.extends.name, set(self.prog.nets)),
            )
        pparams, pbody, pdepth = self._flatten(parent, (*chain, ndef.name))
        if pdepth + 1 > self.limits.max_depth:
            raise error("E501", f"nets extend each other more than {self.limits.max_depth} deep", ndef.name_span)
        self.budget.spend(ndef.name_span, len(pparams) + len(pbody))
        params = list(pparams)
        names = [p.name for p in params]
        where = {n: i for i, n in enumerate(names)}
        seen_kw = False
        for i, a in enumerate(ndef.extends.args):
            if a.name is None:
                if seen_kw:
                    raise error("E305", "positional argument after a keyword argument", a.span)
                if i >= len(params):
                    raise error("E303", f"net '{parent.name}' takes {len(params)} parameters", a.span)
                idx = i
            else:
                seen_kw = True
                if a.name not in where:
                    raise error(
                        "E302",
                        f"net '{parent.name}' has no parameter '{a.name}'",
                        a.span,
                        help=did_you_mean(a.name, set(names)) or "parameters: " + ", ".join(names),
                    )
                idx = where[a.name]
            params[idx] = ast.Param(params[idx].name, a.value, a.span)
        for p in own_params:
            if p.name in where:
                params[where[p.name]] = p
            else:
                where[p.name] = len(params)
                params.append(p)
                names.append(p.name)
        done = (params, self._merge_body(pbody, ndef.body), pdepth + 1)
        self._flat[ndef.name] = done
        return done

    @staticmethod
    def _merge_body(pbody: list[ast.Stmt], own: tuple[ast.Stmt, ...]) -> list[ast.Stmt]:
        """A child net's statements over its parent's, in one pass: the child's input replaces the
        parent's (and goes first), a statement ``name = ...`` replaces the first of that name in place,
        a meta key given again drops the earlier entries of that key, anything else is appended."""
        body = list(pbody)
        first: dict[str, int] = {}
        for i, s in enumerate(body):
            if isinstance(s, ast.Assign):
                first.setdefault(s.name, i)
        new_input: ast.InputStmt | None = None
        child_metas: set[int] = set()
        for stmt in own:
            if isinstance(stmt, ast.InputStmt):
                new_input = stmt
            elif isinstance(stmt, ast.MetaStmt):
                child_metas.add(len(body))
                body.append(stmt)
            elif isinstance(stmt, ast.Assign) and stmt.name in first:
                body[first[stmt.name]] = stmt
            else:
                if isinstance(stmt, ast.Assign):
                    first[stmt.name] = len(body)
                body.append(stmt)
        if child_metas:
            later: set[str] = set()  # keys given by the child's meta statements further on
            for i in range(len(body) - 1, -1, -1):
                s = body[i]
                if not isinstance(s, ast.MetaStmt):
                    continue
                if any(e.key in later for e in s.entries):
                    body[i] = ast.MetaStmt(s.span, tuple(e for e in s.entries if e.key not in later))
                if i in child_metas:
                    later.update(e.key for e in s.entries)
        if new_input is not None:
            body = [new_input, *(s for s in body if not isinstance(s, ast.InputStmt))]
        return body

    def _check_dup_params(self, params: list[ast.Param]) -> None:
        seen: dict[str, Span] = {}
        for p in params:
            if p.name in seen:
                raise DiagnosticError(
                    Diagnostic(
                        "E240",
                        f"parameter '{p.name}' is declared twice",
                        p.span,
                        notes=(f"first declared at {seen[p.name]}",),
                    )
                )
            if p.name == BLOCK_INPUT:
                raise error("E241", f"'{BLOCK_INPUT}' is the block input and cannot be a parameter name", p.span)
            seen[p.name] = p.span

    def _input_type(self, stmt: ast.InputStmt, ev: Evaluator, override: tuple[int, ...] | None) -> TensorType:
        dims = [expect_int(ev.eval(d), d.span, "an input dimension") for d in stmt.dims]
        if override is not None:
            dims = list(override)
        if len(dims) not in (1, 3):
            raise error(
                "E401", f"an input is [C, H, W] (an image) or [C] (a vector), got {len(dims)} dimensions", stmt.span
            )
        for d, e in zip(dims, stmt.dims, strict=False):
            if d < 1:
                raise error("E401", f"input dimensions must be at least 1, got {d}", e.span)
            if d > self.limits.max_dim:
                raise error("E501", f"input dimension {d:,} is above the limit of {self.limits.max_dim:,}", e.span)
        t = TensorType(shape=tuple(dims), layout="chw" if len(dims) == 3 else "vec")
        if t.numel > self.limits.max_elements:
            raise error(
                "E502",
                f"the input has {t.numel:,} elements, above the limit of {self.limits.max_elements:,}",
                stmt.span,
            )
        return t

    def _check_name(self, name: str, span: Span) -> None:
        if name in OPS or name in self.prog.blocks:
            kind = "op" if name in OPS else "block"
            raise error(
                "E241",
                f"'{name}' is the name of a{'n' if kind == 'op' else ''} {kind}; choose another name for this tensor",
                span,
            )

    # ---- expressions --------------------------------------------------------------------
    def _evaluator(self, frame: Frame) -> Evaluator:
        """The frame's evaluator (made once: repeats ask for it on every iteration)."""
        if frame.evaluator is None:
            frame.evaluator = self._new_evaluator(frame)
        return frame.evaluator

    def _new_evaluator(self, frame: Frame) -> Evaluator:
        def lookup(name: str, span: Span) -> Any:
            if name in frame.values:
                v = frame.values[name]
                if v is POISON:
                    raise Poisoned()
                return v
            help = did_you_mean(name, {k for k in frame.values})
            if name in OPS or name in self.prog.blocks:
                help = f"'{name}' is an op or block; in an argument, write a value"
            raise error("E202", f"unknown name '{name}'", span, help=help)

        return Evaluator(
            lookup, lambda: set(frame.values), lambda: set(OPS) | set(self.prog.blocks), tick=self.budget.spend
        )

    # ---- pipelines ----------------------------------------------------------------------
    def _pipeline(
        self, pipe: ast.Pipeline, cur: Any, prefix: str, frame: Frame, b: _Builder, collapse: bool
    ) -> TensorVal:
        single = collapse and len(pipe.stages) == 1 and bool(prefix)
        if cur is POISON and self._explicit_head(pipe.stages[0], frame):
            cur = None
        for i, stage in enumerate(pipe.stages):
            if cur is POISON:
                raise Poisoned()
            cur = self._stage(stage, cur, prefix, frame, b, is_head=(i == 0), single=single)
        if not isinstance(cur, TensorVal):
            raise error("E309", "nothing flows into this pipeline", pipe.span)
        return cur

    @staticmethod
    def _explicit_head(stage: ast.Stage, frame: Frame) -> bool:
        """Does the pipeline start from a named tensor (so it does not need the implicit input)?"""
        el = stage.element
        if not isinstance(el, ast.Call) or stage.count is not None:
            return False
        if el.args is None:
            return isinstance(frame.values.get(el.name), TensorVal)
        spec = OPS.get(el.name)
        return bool(
            spec
            and spec.variadic
            and any(
                a.name is None and isinstance(a.value, ast.Name) and isinstance(frame.values.get(a.value.id), TensorVal)
                for a in el.args
            )
        )

    def _base_name(self, el: ast.Element) -> str:
        if isinstance(el, ast.Call):
            return el.name
        if isinstance(el, ast.Columns):
            return "columns"
        if isinstance(el, ast.Residual):
            return "residual"
        if isinstance(el, ast.Group) and len(el.pipeline.stages) == 1:
            return self._base_name(el.pipeline.stages[0].element)
        return "group"

    def _stage(
        self, stage: ast.Stage, cur: Any, prefix: str, frame: Frame, b: _Builder, is_head: bool, single: bool
    ) -> TensorVal:
        el = stage.element
        b.step(stage.span, prefix)
        if stage.count is None:
            if stage.first is not None:
                raise error(
                    "E308", "first(...) goes after a repeat count, e.g. block(...) * 3 first(s = 2)", stage.span
                )
            path = prefix if single else b.unique(prefix, self._base_name(el))
            return self._element(el, cur, path, frame, b, is_head)
        ev = self._evaluator(frame)
        n = expect_int(ev.eval(stage.count), stage.count.span, "a repeat count")
        if n < 0:
            raise error("E320", f"a repeat count cannot be negative, got {n}", stage.count.span)
        if n > self.limits.max_repeat:
            raise error(
                "E502", f"repeat count {n:,} is above the limit of {self.limits.max_repeat:,}", stage.count.span
            )
        if stage.first is not None and self._first_call(el) is None:
            raise error("E308", "first(...) applies to a block or op call, or a group that starts with one", stage.span)
        if isinstance(el, ast.Call) and el.name in frame.values:
            raise error("E231", f"tensor '{el.name}' cannot be repeated", stage.span)
        path = prefix if single else b.unique(prefix, self._base_name(el))
        b.scope(Scope(path=path, kind="repeat", name=self._base_name(el), args={"count": n}, span=stage.span))
        for i in range(n):
            this = el
            if i == 0 and stage.first is not None:
                this = self._with_first(el, stage.first)
            try:
                cur = self._element(this, cur, _seg_join(path, str(i)), frame, b, is_head and i == 0)
            except DiagnosticError as exc:
                if n == 1:
                    raise
                note = f"in repetition {i + 1} of {n} (at {stage.span})"
                raise DiagnosticError(
                    [
                        Diagnostic(d.code, d.message, d.span, d.severity, d.help, (*d.notes, note))
                        for d in exc.diagnostics
                    ]
                ) from None
        if not isinstance(cur, TensorVal):
            raise error("E309", "nothing flows into this repeat", stage.span)
        return cur

    @staticmethod
    def _first_call(el: ast.Element) -> ast.Call | None:
        while isinstance(el, ast.Group):
            head = el.pipeline.stages[0]
            if head.count is not None:
                return None
            el = head.element
        return el if isinstance(el, ast.Call) else None

    def _with_first(self, el: ast.Element, first: tuple[ast.Arg, ...]) -> ast.Element:
        if isinstance(el, ast.Group):
            head = el.pipeline.stages[0]
            new_head = ast.Stage(self._with_first(head.element, first), head.count, head.first, head.span)
            pipe = ast.Pipeline((new_head, *el.pipeline.stages[1:]), el.pipeline.span)
            return ast.Group(el.span, pipe, el.cond)
        call = el
        args = list(call.args or ())
        for a in first:
            if a.name is None:
                raise error("E308", "first(...) takes keyword arguments, e.g. first(s = 2)", a.span)
            args = [x for x in args if x.name != a.name]
            args.append(a)
        return ast.Call(call.span, call.name, tuple(args), call.name_span)

    def _element(self, el: ast.Element, cur: Any, path: str, frame: Frame, b: _Builder, is_head: bool) -> TensorVal:
        b.step(el.span, path)
        if isinstance(el, ast.Call):
            return self._call(el, cur, path, frame, b, is_head)
        if cur is None:
            raise error("E309", "nothing flows into this element", el.span)
        if isinstance(el, ast.Group):
            if el.cond is not None:
                test = self._evaluator(frame).eval(el.cond)
                if not isinstance(test, bool):
                    raise error(
                        "E261", f"the condition must be true or false, got {type_name(test)} {show(test)}", el.cond.span
                    )
                if not test:
                    return cur
            return self._pipeline(el.pipeline, cur, path, frame, b, collapse=True)
        if isinstance(el, ast.Columns):
            return self._columns(el, cur, path, frame, b)
        if isinstance(el, ast.Residual):
            return self._residual(el, cur, path, frame, b)
        raise error("E299", "unsupported element", el.span)

    def _call(self, el: ast.Call, cur: Any, path: str, frame: Frame, b: _Builder, is_head: bool) -> TensorVal:
        name = el.name
        if name in frame.values:
            v = frame.values[name]
            if v is POISON:
                raise Poisoned()
            if isinstance(v, str) and (v in OPS or v in self.prog.blocks):
                # a parameter naming an op or block (act = "silu") is called by that name
                named = ast.Call(el.span, v, el.args, el.name_span)
                return self._call(named, cur, path, frame, b, is_head)
            if not isinstance(v, TensorVal):
                help = None
                if isinstance(v, str):
                    help = (
                        did_you_mean(v, set(OPS) | set(self.prog.blocks))
                        or "a string parameter used as an element must name an op or block"
                    )
                raise error(
                    "E232",
                    f"'{name}' is a parameter ({type_name(v)} {show(v)}), not an op or block",
                    el.name_span,
                    help=help,
                )
            if el.args is not None:
                raise error("E230", f"'{name}' is a tensor, not an op or block", el.name_span)
            if not is_head:
                raise error(
                    "E231",
                    f"tensor '{name}' can only start a pipeline",
                    el.name_span,
                    help=f"start a new statement with '{name} -> ...', or merge with add({name}, ...)",
                )
            return v
        if name in OPS:
            return self._op(OPS[name], el, cur, path, frame, b, is_head)
        if name in self.prog.blocks:
            return self._block(self.prog.blocks[name], el, cur, path, frame, b)
        cands = set(OPS) | set(self.prog.blocks) | {k for k, v in frame.values.items() if isinstance(v, TensorVal)}
        help = did_you_mean(name, cands)
        if "std" not in self.prog.libraries and name in self.prog.std_blocks():
            help = f"'{name}' is in the standard library: add 'import std' at the top of the file"
        raise error("E201", f"unknown op or block '{name}'", el.name_span, help=help)

    # ---- ops ----------------------------------------------------------------------------
    def _op(
        self, spec: OpSpec, el: ast.Call, cur: Any, path: str, frame: Frame, b: _Builder, is_head: bool
    ) -> TensorVal:
        ev = self._evaluator(frame)
        fields = _user_fields(spec)
        explicit: list[TensorVal] = []
        values: dict[str, Any] = {}
        spans: dict[str, Span] = {}
        pos = 0
        seen_kw = False
        for a in el.args or ():
            if a.name is None:
                if seen_kw:
                    raise error("E305", "positional argument after a keyword argument", a.span)
                v = ev.eval(a.value)
                if isinstance(v, TensorVal):
                    if not spec.variadic:
                        raise error(
                            "E311",
                            f"'{spec.name}' takes its input from the pipeline, not as an argument",
                            a.span,
                            help=f"write {a.value.id if isinstance(a.value, ast.Name) else 'x'} -> {spec.name}(...)",
                        )
                    explicit.append(v)
                    continue
                if pos >= len(spec.positional):
                    raise error(
                        "E303",
                        f"'{spec.name}' takes {len(spec.positional)} positional argument"
                        f"{'s' if len(spec.positional) != 1 else ''}"
                        + (f" ({', '.join(spec.positional)})" if spec.positional else ""),
                        a.span,
                        help="name the argument, e.g. k = 3" if spec.positional else None,
                    )
                key = spec.positional[pos]
                pos += 1
            else:
                seen_kw = True
                key = a.name
                if key not in fields:
                    raise error(
                        "E302",
                        f"'{spec.name}' has no argument '{key}'",
                        a.span,
                        help=_arg_help(key, set(fields))
                        or ("arguments: " + ", ".join(fields) if fields else f"'{spec.name}' takes no arguments"),
                    )
                v = ev.eval(a.value)
                if isinstance(v, TensorVal):
                    raise error("E320", f"argument '{key}' of '{spec.name}' must be a value, not a tensor", a.span)
            if key in values:
                raise error("E305", f"argument '{key}' given twice", a.span)
            values[key] = self._coerce(v, fields[key].annotation)
            spans[key] = a.span
        if spec.variadic:
            ins = explicit if (is_head and explicit) else ([cur] if cur is not None else []) + explicit
            if len(ins) < spec.min_inputs:
                raise error(
                    "E310",
                    f"'{spec.name}' needs at least {spec.min_inputs} inputs, got {len(ins)}",
                    el.span,
                    help=f"e.g. {spec.name}(a, b) with two named tensors",
                )
            if len(ins) > spec.max_inputs:
                raise error("E310", f"'{spec.name}' takes at most {spec.max_inputs} inputs", el.span)
        else:
            if cur is None:
                raise error("E309", f"nothing flows into '{spec.name}'", el.span)
            ins = [cur]
        for k, v in values.items():
            if isinstance(v, int) and not isinstance(v, bool) and v > self.limits.max_dim:
                raise error(
                    "E501",
                    f"{k} = {v:,} is above the limit of {self.limits.max_dim:,}",
                    spans[k],
                    help="sizes this large are refused before anything is built",
                )
        try:
            args = spec.args(**values)
        except ValidationError as exc:
            raise DiagnosticError([self._validation_diag(spec, e, spans, el) for e in exc.errors()]) from None
        in_types = [t.type for t in ins]
        try:
            out, args = spec.infer(args, in_types)
        except OpError as exc:
            span = spans.get(exc.arg, el.span) if exc.arg else el.span
            raise error(exc.code, f"{spec.name}: {exc.message}", span, help=exc.help) from None
        return self._emit(spec, args, ins, out, path, el.span, b)

    @staticmethod
    def _coerce(v: Any, annotation: Any) -> Any:
        kinds = set(get_args(annotation)) or {annotation}
        if int in kinds and float not in kinds and isinstance(v, float) and v.is_integer():
            return int(v)
        return v

    @staticmethod
    def _validation_diag(spec: OpSpec, e: dict, spans: dict[str, Span], el: ast.Call) -> Diagnostic:
        key = str(e["loc"][0]) if e.get("loc") else None
        span = spans.get(key, el.span) if key else el.span
        typ = e.get("type", "")
        got = e.get("input")
        field = spec.args.model_fields.get(key) if key else None
        desc = f" ({field.description})" if field is not None and field.description else ""
        if typ == "missing":
            return Diagnostic(
                "E304", f"'{spec.name}' needs argument '{key}'{desc}", el.span, help=f"e.g. {spec.name}({key} = ...)"
            )
        if typ in ("int_type", "int_from_float", "float_type", "bool_type", "string_type", "literal_error"):
            want = {
                "int_type": "an integer",
                "int_from_float": "an integer",
                "float_type": "a number",
                "bool_type": "true or false",
                "string_type": "a string",
            }.get(typ)
            if typ == "literal_error":
                want = "one of " + str(e.get("ctx", {}).get("expected", ""))
            return Diagnostic(
                "E320", f"argument '{key}' of '{spec.name}' must be {want}, got {type_name(got)} {show(got)}", span
            )
        if typ in ("greater_than_equal", "greater_than", "less_than", "less_than_equal"):
            return Diagnostic("E321", f"argument '{key}' of '{spec.name}': {e['msg'].lower()}, got {show(got)}", span)
        return Diagnostic("E320", f"argument '{key}' of '{spec.name}': {e['msg']}", span)

    # ---- blocks -------------------------------------------------------------------------
    def _block(self, bdef: ast.BlockDef, el: ast.Call, cur: Any, path: str, frame: Frame, b: _Builder) -> TensorVal:
        if bdef.name in frame.chain:
            chain = " → ".join([*frame.chain[frame.chain.index(bdef.name) :], bdef.name])
            raise error(
                "E220",
                f"block '{bdef.name}' uses itself: {chain}",
                el.name_span,
                help="blocks cannot be recursive; write the repetition with * N",
            )
        if len(frame.chain) >= self.limits.max_depth:
            raise error("E501", f"blocks are nested more than {self.limits.max_depth} deep", el.span)
        if cur is None:
            raise error("E309", f"nothing flows into block '{bdef.name}'", el.span)
        b.budget.spend(el.span, BLOCK_USE_STEPS + len(bdef.params))  # a frame, an evaluator, every parameter bound
        self._check_dup_params(list(bdef.params))
        ev = self._evaluator(frame)
        names = [p.name for p in bdef.params]
        given: dict[str, Any] = {}
        seen_kw = False
        for i, a in enumerate(el.args or ()):
            if a.name is None:
                if seen_kw:
                    raise error("E305", "positional argument after a keyword argument", a.span)
                if i >= len(names):
                    raise error(
                        "E303",
                        f"block '{bdef.name}' takes {len(names)} argument"
                        f"{'s' if len(names) != 1 else ''}" + (f" ({', '.join(names)})" if names else ""),
                        a.span,
                    )
                key = names[i]
            else:
                seen_kw = True
                key = a.name
                if key not in names:
                    raise error(
                        "E302",
                        f"block '{bdef.name}' has no argument '{key}'",
                        a.span,
                        help=_arg_help(key, set(names)) or "arguments: " + (", ".join(names) or "none"),
                    )
            if key in given:
                raise error("E305", f"argument '{key}' given twice", a.span)
            v = ev.eval(a.value)
            if isinstance(v, TensorVal):
                raise error("E320", f"argument '{key}' of block '{bdef.name}' must be a value, not a tensor", a.span)
            given[key] = v
        inner = Frame({}, {}, chain=(*frame.chain, bdef.name))
        inner.bind(BLOCK_INPUT, cur, el.span)
        iev = self._evaluator(inner)
        bound: dict[str, Any] = {}
        for p in bdef.params:
            if p.name in given:
                v = given[p.name]
            elif p.default is not None:
                v = iev.eval(p.default)
                if isinstance(v, TensorVal):
                    raise error(
                        "E320",
                        f"the default of parameter '{p.name}' of block '{bdef.name}' must be a value, not a tensor",
                        p.default.span,
                        help="a block's input is 'in'; use it in the body, e.g. conv(in.c)",
                    )
            else:
                raise error(
                    "E304", f"block '{bdef.name}' needs argument '{p.name}'", el.span, help=f"defined at {p.span}"
                )
            inner.bind(p.name, v, p.span)
            bound[p.name] = v
        b.scope(Scope(path=path, kind="block", name=bdef.name, args=bound, span=el.span))
        try:
            return self._block_body(bdef, cur, path, inner, b)
        except DiagnosticError as exc:
            note = f"in block '{bdef.name}' used at {el.name_span}"
            raise DiagnosticError(
                [Diagnostic(d.code, d.message, d.span, d.severity, d.help, (*d.notes, note)) for d in exc.diagnostics]
            ) from None

    def _block_body(self, bdef: ast.BlockDef, cur: TensorVal, path: str, inner: Frame, b: _Builder) -> TensorVal:
        out: Any = None
        last = cur
        single_stmt = len([s for s in bdef.body if not isinstance(s, (ast.InputStmt, ast.MetaStmt))]) == 1
        for stmt in bdef.body:
            if isinstance(stmt, (ast.InputStmt, ast.MetaStmt)):
                raise error(
                    "E307",
                    f"'{'input' if isinstance(stmt, ast.InputStmt) else 'meta'}' belongs in a net, not in a block",
                    stmt.span,
                )
            if isinstance(stmt, ast.Assign):
                self._check_name(stmt.name, stmt.name_span)
                if stmt.name in inner.values:
                    inner.bind(stmt.name, None, stmt.name_span)
                out = self._pipeline(stmt.pipeline, last, _seg_join(path, stmt.name), inner, b, collapse=True)
                inner.bind(stmt.name, out, stmt.name_span)
            else:
                out = self._pipeline(stmt.pipeline, last, path, inner, b, collapse=single_stmt)
            last = out
        if out is None:
            raise error("E306", f"block '{bdef.name}' has no statements", bdef.name_span)
        return out

    # ---- columns and residuals ----------------------------------------------------------
    def _columns(self, el: ast.Columns, cur: TensorVal, path: str, frame: Frame, b: _Builder) -> TensorVal:
        ev = self._evaluator(frame)
        opts: dict[str, Any] = {"n": None, "split": False, "join": "concat", "out": None}
        spans: dict[str, Span] = {}
        for i, a in enumerate(el.args):
            key = a.name if a.name is not None else ("n" if i == 0 else None)
            if key is None:
                raise error("E303", "columns takes one positional argument (the number of columns)", a.span)
            if key not in opts:
                raise error(
                    "E302",
                    f"columns has no argument '{key}'",
                    a.span,
                    help=did_you_mean(key, set(opts)) or "arguments: n, split, join, out",
                )
            if key in spans:
                raise error("E305", f"argument '{key}' given twice", a.span)
            opts[key] = ev.eval(a.value)
            spans[key] = a.span
        if opts["join"] not in JOINS:
            raise error(
                "E320",
                f"columns join must be one of {', '.join(repr(j) for j in JOINS)}, got {show(opts['join'])}",
                spans.get("join", el.span),
                help=did_you_mean(str(opts["join"]), set(JOINS)),
            )
        if not isinstance(opts["split"], bool):
            raise error("E320", f"columns split must be true or false, got {show(opts['split'])}", spans["split"])
        bodies: list[tuple[str, ast.Column]] = []
        if opts["n"] is not None:
            n = expect_int(opts["n"], spans["n"], "the number of columns")
            if n < 1:
                raise error("E321", f"the number of columns must be at least 1, got {n}", spans["n"])
            if n > self.limits.max_columns:
                raise error("E502", f"{n:,} columns is above the limit of {self.limits.max_columns:,}", spans["n"])
            if len(el.columns) == 1:
                col = el.columns[0]
                base = col.label or "col"
                bodies = [(f"{base}{i}", col) for i in range(n)]
            elif len(el.columns) != n:
                raise error(
                    "E330",
                    f"columns({n}) has {len(el.columns)} columns in its body",
                    spans["n"],
                    help="give one pipeline to replicate it, or as many as the count",
                )
        if not bodies:
            labels: set[str] = set()
            for i, col in enumerate(el.columns):
                label = col.label or f"col{i}"
                if label in labels:
                    raise error("E240", f"column label '{label}' is used twice", col.span)
                labels.add(label)
                bodies.append((label, col))
        active = []
        for label, col in bodies:
            if col.cond is not None:
                test = ev.eval(col.cond)
                if not isinstance(test, bool):
                    raise error(
                        "E261", f"a column condition must be true or false, got {type_name(test)}", col.cond.span
                    )
                if not test:
                    continue
            active.append((label, col))
        if not active:
            raise error("E330", "every column of this columns(...) is switched off by its condition", el.span)
        split = opts["split"]
        k = len(active)
        if split and cur.type.c % k:
            raise error(
                "E404", f"cannot split {cur.type.c} channels into {k} equal columns", spans.get("split", el.span)
            )
        b.scope(
            Scope(
                path=path,
                kind="columns",
                name="columns",
                args={"n": k, "split": split, "join": opts["join"]},
                span=el.span,
            )
        )
        outs: list[TensorVal] = []
        for i, (label, col) in enumerate(active):
            b.step(col.span, path)
            cpath = _seg_join(path, label)
            x = cur
            if split:
                w = cur.type.c // k
                sl = ast.Call(
                    col.span,
                    "slice",
                    (
                        ast.Arg("start", ast.Num(col.span, i * w), col.span),
                        ast.Arg("stop", ast.Num(col.span, (i + 1) * w), col.span),
                    ),
                    col.span,
                )
                x = self._op(OPS["slice"], sl, cur, _seg_join(cpath, "split"), frame, b, is_head=False)
            b.scope(Scope(path=cpath, kind="column", name=label, span=col.span))
            outs.append(self._pipeline(col.pipeline, x, cpath, frame, b, collapse=not split))
        if len(outs) == 1 and opts["join"] in ("concat", "add", "mul"):
            return outs[0]
        join = opts["join"]
        merge = "concat" if join in ("concat", "shuffle", "project") else join
        spec = OPS[merge]
        try:
            out_t, margs = spec.infer(spec.args(), [o.type for o in outs])
        except OpError as exc:
            raise error(exc.code, f"joining the columns: {exc.message}", el.span, help=exc.help) from None
        merged = self._emit(spec, margs, outs, out_t, _seg_join(path, merge), el.span, b)
        if join == "shuffle":
            sh = ast.Call(el.span, "shuffle", (ast.Arg("groups", ast.Num(el.span, k), el.span),), el.span)
            merged = self._op(OPS["shuffle"], sh, merged, _seg_join(path, "shuffle"), frame, b, is_head=False)
        elif join == "project":
            c = opts["out"] if opts["out"] is not None else merged.type.c
            pr = ast.Call(
                el.span,
                "conv",
                (ast.Arg("c", ast.Num(spans.get("out", el.span), c), spans.get("out", el.span)),),
                el.span,
            )
            merged = self._op(OPS["conv"], pr, merged, _seg_join(path, "project"), frame, b, is_head=False)
        elif opts["out"] is not None:
            raise error("E302", 'out = ... applies to join = "project"', spans["out"])
        return merged

    def _emit(
        self, spec: OpSpec, args, ins: list[TensorVal], out: TensorType, path: str, span: Span, b: _Builder
    ) -> TensorVal:
        types = [t.type for t in ins]
        b.add(
            Node.model_construct(
                id=path,
                op=spec.name,
                args=args,
                inputs=tuple(t.ref for t in ins),
                out=out,
                params=spec.params(args, types, out),
                macs=spec.macs(args, types, out),
                span=span,
            )
        )
        return TensorVal(path, out)

    def _residual(self, el: ast.Residual, cur: TensorVal, path: str, frame: Frame, b: _Builder) -> TensorVal:
        if el.args:
            raise error("E302", "residual takes no arguments", el.args[0].span)
        b.scope(Scope(path=path, kind="residual", name="residual", span=el.span))
        body = self._pipeline(el.body, cur, _seg_join(path, "body"), frame, b, collapse=True)
        short = cur
        if el.shortcut is not None:
            spath = _seg_join(path, "shortcut")
            b.scope(Scope(path=spath, kind="shortcut", name="shortcut", span=el.shortcut.span))
            short = self._pipeline(el.shortcut, cur, spath, frame, b, collapse=True)
        spec = OPS["add"]
        try:
            out_t, margs = spec.infer(spec.args(), [body.type, short.type])
        except OpError:
            raise error(
                "E406",
                f"the residual body gives {body.type} but the shortcut gives {short.type}",
                el.span,
                help="add a shortcut { ... } that matches, e.g. avgpool(2) -> conv(c) -> bn",
            ) from None
        return self._emit(spec, margs, [body, short], out_t, _seg_join(path, "add"), el.span, b)
