"""Elaboration: statements, pipelines, repeats, calls of ops and blocks, into the builder.

Naming: every op node gets a hierarchical path. A statement ``name = pipeline`` opens the segment
``name``; inside it each pipeline element gets a segment of its own (``conv``, ``bn``, ``dcac``,
numbered ``conv_1`` ... when repeated in one scope), except that a pipeline of a single element
uses the enclosing segment directly (``stage3 = bottleneck(160) * 10`` gives ``stage3.0`` ...
``stage3.9``). Repeats number their iterations ``0..n-1``; columns name theirs by label or
``col0..colN-1``; a residual's branches are ``body`` and ``shortcut`` and its sum ``add``.

Arguments are matched by :func:`archdsl.resolve.binding.bind`; ``first(...)`` overrides are handed
down to the call they apply to (never by rewriting the AST); the built-in constructs are in
:mod:`archdsl.resolve.constructs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archdsl.diagnostics import Diagnostic, DiagnosticError, Span, error
from archdsl.ir import Scope
from archdsl.ops import OPS, OpSpec
from archdsl.resolve import constructs
from archdsl.resolve.binding import Signature, bind, def_signature, op_signature
from archdsl.resolve.builder import Builder
from archdsl.resolve.diag import with_note
from archdsl.resolve.expr import Evaluator, expect_int
from archdsl.resolve.frame import BLOCK_INPUT, Frame, seg_join
from archdsl.resolve.limits import Budget, Limits
from archdsl.resolve.program import Program
from archdsl.resolve.suggest import NameIndex, suggest
from archdsl.resolve.values import POISON, Poisoned, TensorVal, show, type_name
from archdsl.syntax import ast

BLOCK_USE_STEPS = 4
"""What a block use costs beyond its element, scope and statements (a frame and evaluator of its own,
its arguments matched): measured, it is several times the work of a plain repeat iteration."""

NO_FIRST: tuple[ast.Arg, ...] = ()


def check_dup_params(params: Sequence[ast.Param]) -> None:
    """A block's or net's parameters: each name once, and none named like the block input."""
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


class Elaborator:
    """Expands the statements of nets and blocks of one program into builders."""

    def __init__(self, program: Program, limits: Limits, budget: Budget):
        self.prog = program
        self.limits = limits
        self.budget = budget
        self.callables = NameIndex([*OPS, *program.blocks])
        self._block_sigs: dict[str, Signature] = {}

    def is_callable(self, name: str) -> bool:
        return name in OPS or name in self.prog.blocks

    # ---- expressions --------------------------------------------------------------------
    def evaluator(self, frame: Frame) -> Evaluator:
        """The frame's evaluator (made once: repeats ask for it on every iteration)."""
        if frame.evaluator is None:

            def lookup(name: str, span: Span) -> Any:
                if name in frame.values:
                    v = frame.values[name]
                    if v is POISON:
                        raise Poisoned()
                    return v
                help = suggest(name, frame.names())
                if self.is_callable(name):
                    help = f"'{name}' is an op or block; in an argument, write a value"
                raise error("E202", f"unknown name '{name}'", span, help=help)

            frame.evaluator = Evaluator(lookup, self.is_callable, budget=self.budget)
        return frame.evaluator

    def check_name(self, name: str, span: Span) -> None:
        if name in OPS or name in self.prog.blocks:
            kind = "op" if name in OPS else "block"
            raise error(
                "E241",
                f"'{name}' is the name of a{'n' if kind == 'op' else ''} {kind}; choose another name for this tensor",
                span,
            )

    def unknown_call(self, name: str, span: Span, frame: Frame) -> DiagnosticError:
        """E201 for a name that is no op, block or tensor."""
        help = suggest(name, self.callables, frame.tensors())
        if "std" not in self.prog.libraries and name in self.prog.std_blocks():
            help = f"'{name}' is in the standard library: add 'import std' at the top of the file"
        return error("E201", f"unknown op or block '{name}'", span, help=help)

    # ---- pipelines ----------------------------------------------------------------------
    def pipeline(
        self,
        pipe: ast.Pipeline,
        cur: Any,
        prefix: str,
        frame: Frame,
        b: Builder,
        collapse: bool,
        first: Sequence[ast.Arg] = NO_FIRST,
    ) -> TensorVal:
        single = collapse and len(pipe.stages) == 1 and bool(prefix)
        if cur is POISON and self._explicit_head(pipe.stages[0], frame):
            cur = None
        for i, stage in enumerate(pipe.stages):
            if cur is POISON:
                raise Poisoned()
            cur = self._stage(stage, cur, prefix, frame, b, i == 0, single, first if i == 0 else NO_FIRST)
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
        self,
        stage: ast.Stage,
        cur: Any,
        prefix: str,
        frame: Frame,
        b: Builder,
        is_head: bool,
        single: bool,
        first: Sequence[ast.Arg],
    ) -> TensorVal:
        el = stage.element
        b.step(stage.span, prefix)
        if stage.count is None:
            if stage.first is not None:
                raise error(
                    "E308", "first(...) goes after a repeat count, e.g. block(...) * 3 first(s = 2)", stage.span
                )
            path = prefix if single else b.unique(prefix, self._base_name(el))
            return self.element(el, cur, path, frame, b, is_head, first)
        n = expect_int(self.evaluator(frame).eval(stage.count), stage.count.span, "a repeat count")
        if n < 0:
            raise error("E320", f"a repeat count cannot be negative, got {n}", stage.count.span)
        if n > self.limits.max_repeat:
            raise error(
                "E502", f"repeat count {n:,} is above the limit of {self.limits.max_repeat:,}", stage.count.span
            )
        if stage.first is not None:
            if self._first_call(el) is None:
                raise error(
                    "E308", "first(...) applies to a block or op call, or a group that starts with one", stage.span
                )
            for a in stage.first:
                if a.name is None:
                    raise error("E308", "first(...) takes keyword arguments, e.g. first(s = 2)", a.span)
        if isinstance(el, ast.Call) and el.name in frame.values:
            raise error("E231", f"tensor '{el.name}' cannot be repeated", stage.span)
        path = prefix if single else b.unique(prefix, self._base_name(el))
        b.scope(Scope(path=path, kind="repeat", name=self._base_name(el), args={"count": n}, span=stage.span))
        for i in range(n):
            this_first = stage.first if (i == 0 and stage.first is not None) else NO_FIRST
            try:
                cur = self.element(el, cur, seg_join(path, str(i)), frame, b, is_head and i == 0, this_first)
            except DiagnosticError as exc:
                if n == 1:
                    raise
                raise with_note(exc, f"in repetition {i + 1} of {n} (at {stage.span})") from None
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

    def element(
        self,
        el: ast.Element,
        cur: Any,
        path: str,
        frame: Frame,
        b: Builder,
        is_head: bool,
        first: Sequence[ast.Arg] = NO_FIRST,
    ) -> TensorVal:
        b.step(el.span, path)
        if isinstance(el, ast.Call):
            return self.call(el, cur, path, frame, b, is_head, first)
        if cur is None:
            raise error("E309", "nothing flows into this element", el.span)
        if isinstance(el, ast.Group):
            if el.cond is not None:
                test = self.evaluator(frame).eval(el.cond)
                if not isinstance(test, bool):
                    raise error(
                        "E261", f"the condition must be true or false, got {type_name(test)} {show(test)}", el.cond.span
                    )
                if not test:
                    return cur
            return self.pipeline(el.pipeline, cur, path, frame, b, collapse=True, first=first)
        if isinstance(el, ast.Columns):
            return constructs.columns(self, el, cur, path, frame, b)
        if isinstance(el, ast.Residual):
            return constructs.residual(self, el, cur, path, frame, b)
        raise error("E299", "unsupported element", el.span)

    # ---- calls --------------------------------------------------------------------------
    def call(
        self,
        el: ast.Call,
        cur: Any,
        path: str,
        frame: Frame,
        b: Builder,
        is_head: bool,
        first: Sequence[ast.Arg] = NO_FIRST,
    ) -> TensorVal:
        name = el.name
        if name in frame.values:
            v = frame.values[name]
            if v is POISON:
                raise Poisoned()
            if isinstance(v, str) and self.is_callable(v):
                name = v  # a parameter naming an op or block (act = "silu") is called by that name
            elif not isinstance(v, TensorVal):
                help = None
                if isinstance(v, str):
                    help = suggest(v, self.callables) or (
                        "a string parameter used as an element must name an op or block"
                    )
                raise error(
                    "E232",
                    f"'{name}' is a parameter ({type_name(v)} {show(v)}), not an op or block",
                    el.name_span,
                    help=help,
                )
            elif el.args is not None or first:
                raise error("E230", f"'{name}' is a tensor, not an op or block", el.name_span)
            elif not is_head:
                raise error(
                    "E231",
                    f"tensor '{name}' can only start a pipeline",
                    el.name_span,
                    help=f"start a new statement with '{name} -> ...', or merge with add({name}, ...)",
                )
            else:
                return v
        if name in OPS:
            return self.op(OPS[name], el, cur, path, frame, b, is_head, first)
        if name in self.prog.blocks:
            return self.block(self.prog.blocks[name], el, cur, path, frame, b, first)
        raise self.unknown_call(name, el.name_span, frame)

    def op(
        self,
        spec: OpSpec,
        el: ast.Call,
        cur: Any,
        path: str,
        frame: Frame,
        b: Builder,
        is_head: bool,
        first: Sequence[ast.Arg] = NO_FIRST,
    ) -> TensorVal:
        bound = bind(op_signature(spec), el.args or (), el.span, self.evaluator(frame).eval, first)
        if spec.variadic:
            explicit = bound.inputs
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
        return b.op(spec, bound.values, bound.spans, ins, path, el.span)

    # ---- blocks -------------------------------------------------------------------------
    def block_signature(self, bdef: ast.BlockDef) -> Signature:
        sig = self._block_sigs.get(bdef.name)
        if sig is None:
            check_dup_params(bdef.params)
            sig = self._block_sigs[bdef.name] = def_signature("block", bdef.name, bdef.params)
        return sig

    def block(
        self,
        bdef: ast.BlockDef,
        el: ast.Call,
        cur: Any,
        path: str,
        frame: Frame,
        b: Builder,
        first: Sequence[ast.Arg] = NO_FIRST,
    ) -> TensorVal:
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
        sig = self.block_signature(bdef)
        given = bind(sig, el.args or (), el.span, self.evaluator(frame).eval, first).values
        inner = Frame({}, {}, chain=(*frame.chain, bdef.name))
        inner.bind(BLOCK_INPUT, cur, el.span)
        iev = self.evaluator(inner)
        bound: dict[str, Any] = {}
        for p in bdef.params:
            if p.name in given:
                v = given[p.name]
            else:
                assert p.default is not None  # the binder reported the missing ones
                v = iev.eval(p.default)
                if isinstance(v, TensorVal):
                    raise error(
                        "E320",
                        f"the default of parameter '{p.name}' of block '{bdef.name}' must be a value, not a tensor",
                        p.default.span,
                        help="a block's input is 'in'; use it in the body, e.g. conv(in.c)",
                    )
            inner.bind(p.name, v, p.span)
            bound[p.name] = v
        b.scope(Scope(path=path, kind="block", name=bdef.name, args=bound, span=el.span))
        try:
            return self._block_body(bdef, cur, path, inner, b)
        except DiagnosticError as exc:
            raise with_note(exc, f"in block '{bdef.name}' used at {el.name_span}") from None

    def _block_body(self, bdef: ast.BlockDef, cur: TensorVal, path: str, inner: Frame, b: Builder) -> TensorVal:
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
                self.check_name(stmt.name, stmt.name_span)
                if stmt.name in inner.values:
                    inner.bind(stmt.name, None, stmt.name_span)
                out = self.pipeline(stmt.pipeline, last, seg_join(path, stmt.name), inner, b, collapse=True)
                inner.bind(stmt.name, out, stmt.name_span)
            else:
                out = self.pipeline(stmt.pipeline, last, path, inner, b, collapse=single_stmt)
            last = out
        if out is None:
            raise error("E306", f"block '{bdef.name}' has no statements", bdef.name_span)
        return out
