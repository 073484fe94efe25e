"""The resolver: AST → IR, net by net. Parameters and overrides, ``extends``, the input, the
statements of a net, and the error recovery that reports every independent mistake once.

The work is shared out: arguments are matched by :mod:`archdsl.resolve.binding`, statements and
pipelines are expanded by :mod:`archdsl.resolve.elaborate` (the built-in constructs by
:mod:`archdsl.resolve.constructs`), nodes are made under the limits and the work budget by
:mod:`archdsl.resolve.builder`.
"""

from __future__ import annotations

from typing import Any

from archdsl.diagnostics import Diagnostic, DiagnosticError, Span, error
from archdsl.ir import Graph, GraphInput, Scope
from archdsl.ops import TensorType
from archdsl.resolve.binding import bind, check_names, def_signature
from archdsl.resolve.builder import Builder
from archdsl.resolve.elaborate import Elaborator, check_dup_params
from archdsl.resolve.expr import Evaluator, expect_int
from archdsl.resolve.frame import Frame
from archdsl.resolve.gcpause import paused_gc
from archdsl.resolve.limits import DEFAULT_LIMITS, Budget, Limits
from archdsl.resolve.program import Program
from archdsl.resolve.suggest import NameIndex, suggest
from archdsl.resolve.values import POISON, Poisoned, TensorVal
from archdsl.syntax import ast


class Resolver:
    def __init__(self, program: Program, limits: Limits = DEFAULT_LIMITS):
        self.prog = program
        self.limits = limits
        self.budget = Budget(limits.max_steps)
        self.elab = Elaborator(program, limits, self.budget)
        self._flat: dict[str, tuple[list[ast.Param], list[ast.Stmt], int]] = {}
        self._nets = NameIndex(program.nets)

    def net_names(self) -> list[str]:
        return [n.name for n in self.prog.root.nets]

    def net_params(self, net: str) -> list[ast.Param]:
        """The parameters of net ``net`` with everything it extends folded in (defaults as written;
        ``extends`` arguments are the new defaults), in order. For search spaces (archdsl/space/)."""
        ndef = self.prog.nets.get(net)
        if ndef is None:
            raise self._unknown_net(net, None, listing=True)
        return list(self._flatten(ndef, ())[0])

    def _unknown_net(self, name: str, span: Span | None, listing: bool) -> DiagnosticError:
        help = suggest(name, self._nets)
        if listing:
            help = help or "nets: " + ", ".join(sorted(self.prog.nets))
        return error("E204", f"{'no net named' if listing else 'unknown net'} '{name}'", span, help=help)

    def resolve(
        self, net: str, overrides: dict[str, Any] | None = None, input_shape: tuple[int, ...] | None = None
    ) -> Graph:
        """Resolve one net into a validated Graph; raises DiagnosticError with every error found."""
        try:
            with paused_gc():
                return self._resolve(net, overrides, input_shape)
        except RecursionError:
            ndef = self.prog.nets.get(net)
            raise error(
                "E106",
                "the spec is nested too deeply to resolve",
                ndef.name_span if ndef else None,
                help="flatten deeply nested groups or expressions",
            ) from None

    def _params(self, ndef: ast.NetDef, params: list[ast.Param], frame: Frame, overrides: dict[str, Any]) -> dict:
        """The net's parameters: overridden (``-p name=value``), else their defaults, in order."""
        sig = def_signature("net", ndef.name, params)
        check_names(sig, list(overrides), ndef.name_span)
        ev = self.elab.evaluator(frame)
        values: dict[str, Any] = {}
        for p, sp in zip(params, sig.params, strict=True):
            if p.name in overrides:
                v = overrides[p.name]
            elif p.default is not None:
                v = ev.eval(p.default)
            else:
                raise DiagnosticError(sig.missing(sp, p.span))
            frame.bind(p.name, v, p.span)
            values[p.name] = v
        return values

    def _resolve(
        self, net: str, overrides: dict[str, Any] | None = None, input_shape: tuple[int, ...] | None = None
    ) -> Graph:
        ndef = self.prog.nets.get(net)
        if ndef is None:
            raise self._unknown_net(net, None, listing=True)
        self.budget.check_left(net, ndef.name_span)
        params, body, _ = self._flatten(ndef, ())
        b = Builder(self.limits, self.budget)
        frame = Frame({}, {}, chain=())
        diags: list[Diagnostic] = []
        ev = self.elab.evaluator(frame)
        param_values = self._params(ndef, params, frame, dict(overrides or {}))

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
                    self.elab.check_name(stmt.name, stmt.name_span)
                    if stmt.name in frame.values:
                        frame.bind(stmt.name, None, stmt.name_span)  # raises E240 with the first definition
                    b.scope(Scope(path=stmt.name, kind="stage", name=stmt.name, span=stmt.span))
                    out = self.elab.pipeline(stmt.pipeline, cur, stmt.name, frame, b, collapse=True)
                    stages.append(stmt.name)
                    frame.bind(stmt.name, out, stmt.name_span)
                    cur = out
                elif isinstance(stmt, ast.PipeStmt):
                    self._need_input(stmt, inputs, inputs_failed)
                    cur = self.elab.pipeline(stmt.pipeline, cur, "", frame, b, collapse=False)
            except DiagnosticError as exc:
                diags.extend(exc.diagnostics)
                if self.budget.spent:  # E506: the rest would only repeat it
                    raise DiagnosticError(diags) from None
                if isinstance(stmt, ast.Assign):
                    frame.poison(stmt.name, stmt.name_span)
                cur = POISON
                if isinstance(stmt, ast.InputStmt):
                    inputs_failed = True
            except Poisoned:
                if isinstance(stmt, (ast.Assign, ast.PipeStmt)):
                    diags.extend(self._unknown_names(stmt.pipeline, frame))
                if isinstance(stmt, ast.Assign):
                    frame.poison(stmt.name)
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
        """Unknown op/block names in a pipeline that could not be resolved (its input had an error):
        each name looked up once, nothing expanded."""
        out: list[Diagnostic] = []
        for st in pipe.stages:
            el = st.element
            if isinstance(el, ast.Call):
                if el.name not in frame.values and not self.elab.is_callable(el.name):
                    out.extend(self.elab.unknown_call(el.name, el.name_span, frame).diagnostics)
            elif isinstance(el, ast.Group):
                out.extend(self._unknown_names(el.pipeline, frame))
            elif isinstance(el, ast.Columns):
                for c in el.columns:
                    out.extend(self._unknown_names(c.pipeline, frame))
            elif isinstance(el, ast.Residual):
                out.extend(self._unknown_names(el.body, frame))
                if el.shortcut is not None:
                    out.extend(self._unknown_names(el.shortcut, frame))
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
        check_dup_params(own_params)
        self.budget.spend(ndef.name_span, 1 + len(own_params) + len(ndef.body))
        if ndef.extends is None:
            done = (own_params, list(ndef.body), 0)
            self._flat[ndef.name] = done
            return done
        parent = self.prog.nets.get(ndef.extends.name)
        if parent is None:
            raise self._unknown_net(ndef.extends.name, ndef.extends.span, listing=False)
        pparams, pbody, pdepth = self._flatten(parent, (*chain, ndef.name))
        if pdepth + 1 > self.limits.max_depth:
            raise error("E501", f"nets extend each other more than {self.limits.max_depth} deep", ndef.name_span)
        self.budget.spend(ndef.name_span, len(pparams) + len(pbody))
        params = list(pparams)
        where = {p.name: i for i, p in enumerate(params)}
        sig = def_signature("net", parent.name, params)
        given = bind(sig, ndef.extends.args, ndef.extends.span, None, partial=True)
        for name, expr in given.values.items():
            params[where[name]] = ast.Param(name, expr, given.spans[name])
        for p in own_params:
            if p.name in where:
                params[where[p.name]] = p
            else:
                where[p.name] = len(params)
                params.append(p)
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


__all__ = ["Resolver"]
