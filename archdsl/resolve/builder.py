"""Node building: the nodes and scopes of one net, held to the size limits and the work budget.

Everything the resolver makes goes through a :class:`Builder`: an op from values that are already
bound (:meth:`Builder.op` validates them against the op's schema, infers the output type and adds
the node; each distinct call is computed once, :mod:`archdsl.resolve.opcache`), a node whose
arguments are already validated (:meth:`Builder.emit`, the joins of columns and residuals), a
scope. Every unit of expansion work (a stage, a repeat iteration, a column, a block use, an op) is
a :meth:`Builder.step` charged to the budget, which the resolver shares between all the nets it
resolves (E506 when spent).
"""

from __future__ import annotations

from typing import Any

from archdsl.diagnostics import DiagnosticError, Span, error
from archdsl.ir import Node, Scope, trusted_node
from archdsl.ops import OpSpec, TensorType
from archdsl.resolve.diag import validation_diag
from archdsl.resolve.frame import seg_join
from archdsl.resolve.limits import Budget, Limits
from archdsl.resolve.opcache import infer_op
from archdsl.resolve.values import TensorVal

PATH_CHARS = 128
"""Every element builds its hierarchical path (nodes and scopes keep it): long names nested deep cost
steps in proportion, so the budget bounds memory too."""


class Builder:
    """Accumulates nodes and scopes of one net, enforcing the limits as it goes."""

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
        path = seg_join(prefix, base if n == 0 else f"{base}_{n}")
        while path in self.ids:
            n += 1
            c[base] = n + 1
            path = seg_join(prefix, f"{base}_{n}")
        return path

    def step(self, span: Span | None, path: str = "") -> None:
        """One unit of work, and one more per PATH_CHARS characters of the path it builds or keeps."""
        budget = self.budget
        budget.left -= 1 + len(path) // PATH_CHARS  # Budget.spend, inlined (the hot path)
        if budget.left < 0:
            budget.spend(span, 0)  # raises E506

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
        if out.layout != "vec" and out.shape and max(out.shape) > self.limits.max_dim:
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

    def op(
        self,
        spec: OpSpec,
        values: dict[str, Any],
        spans: dict[str, Span],
        ins: list[TensorVal],
        path: str,
        span: Span,
        context: str = "",
    ) -> TensorVal:
        """An op from bound argument values: checked against the limits and the op's schema, its
        output type inferred (errors at the argument they are about, else at ``span``)."""
        for k, value in values.items():
            for v in value if isinstance(value, tuple) else (value,):
                if isinstance(v, int) and not isinstance(v, bool) and v > self.limits.max_dim:
                    raise error(
                        "E501",
                        f"{k} = {v:,} is above the limit of {self.limits.max_dim:,}",
                        spans.get(k, span),
                        help="sizes this large are refused before anything is built",
                    )
        r = infer_op(spec, values, [t.type for t in ins])
        if r.errors is not None:
            raise DiagnosticError([validation_diag(spec, e, spans, span) for e in r.errors])
        if r.op_error is not None:
            exc = r.op_error
            where = spans.get(exc.arg, span) if exc.arg else span
            raise error(exc.code, f"{context or spec.name}: {exc.message}", where, help=exc.help)
        return self._node(spec, r.args, ins, r.out, r.params, r.macs, path, span)

    def emit(self, spec: OpSpec, args: Any, ins: list[TensorVal], out: TensorType, path: str, span: Span) -> TensorVal:
        """A node whose arguments are validated and whose output type is known."""
        types = [t.type for t in ins]
        return self._node(spec, args, ins, out, spec.params(args, types, out), spec.macs(args, types, out), path, span)

    def _node(
        self,
        spec: OpSpec,
        args: Any,
        ins: list[TensorVal],
        out: TensorType,
        params: int,
        macs: int,
        path: str,
        span: Span,
    ) -> TensorVal:
        self.add(
            trusted_node(  # Node.model_construct, faster: the values are checked
                id=path,
                op=spec.name,
                args=args,
                inputs=tuple(t.ref for t in ins),
                out=out,
                params=params,
                macs=macs,
                span=span,
            )
        )
        return TensorVal(path, out)
