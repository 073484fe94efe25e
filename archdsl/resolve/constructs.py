"""The built-in constructs ``columns`` and ``residual``, expanded through the builder.

Their arguments are matched by the one binder against the signatures
:data:`~archdsl.resolve.binding.COLUMNS` and :data:`~archdsl.resolve.binding.RESIDUAL`. The ops
they add themselves (a column's channel slice, the join, a shuffle or projection after it, the
residual sum) are made from values directly (:meth:`Builder.op` / :meth:`Builder.emit`), never by
building AST nodes for the resolver to read back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archdsl.diagnostics import did_you_mean, error
from archdsl.ir import Scope
from archdsl.ops import OPS, OpError
from archdsl.resolve.binding import COLUMNS, RESIDUAL, bind, coerce, op_signature
from archdsl.resolve.builder import Builder
from archdsl.resolve.expr import expect_int
from archdsl.resolve.frame import Frame, seg_join
from archdsl.resolve.values import TensorVal, show, type_name
from archdsl.syntax import ast

if TYPE_CHECKING:
    from archdsl.resolve.elaborate import Elaborator

JOINS = ("concat", "add", "mul", "shuffle", "project")


def columns(elab: Elaborator, el: ast.Columns, cur: TensorVal, path: str, frame: Frame, b: Builder) -> TensorVal:
    ev = elab.evaluator(frame)
    opts = bind(COLUMNS, el.args, el.span, ev.eval)
    spans = opts.spans
    join, split, out = (opts.get(COLUMNS, k) for k in ("join", "split", "out"))
    if join not in JOINS:
        raise error(
            "E320",
            f"columns join must be one of {', '.join(repr(j) for j in JOINS)}, got {show(join)}",
            spans.get("join", el.span),
            help=did_you_mean(str(join), set(JOINS)),
        )
    if not isinstance(split, bool):
        raise error("E320", f"columns split must be true or false, got {show(split)}", spans["split"])
    bodies: list[tuple[str, ast.Column]] = []
    if "n" in opts.values and opts.values["n"] is not None:
        n = expect_int(opts.values["n"], spans["n"], "the number of columns")
        if n < 1:
            raise error("E321", f"the number of columns must be at least 1, got {n}", spans["n"])
        if n > elab.limits.max_columns:
            raise error("E502", f"{n:,} columns is above the limit of {elab.limits.max_columns:,}", spans["n"])
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
                raise error("E261", f"a column condition must be true or false, got {type_name(test)}", col.cond.span)
            if not test:
                continue
        active.append((label, col))
    if not active:
        raise error("E330", "every column of this columns(...) is switched off by its condition", el.span)
    k = len(active)
    if split and cur.type.c % k:
        raise error("E404", f"cannot split {cur.type.c} channels into {k} equal columns", spans.get("split", el.span))
    b.scope(Scope(path=path, kind="columns", name="columns", args={"n": k, "split": split, "join": join}, span=el.span))
    outs: list[TensorVal] = []
    for i, (label, col) in enumerate(active):
        b.step(col.span, path)
        cpath = seg_join(path, label)
        x = cur
        if split:
            w = cur.type.c // k
            b.budget.spend(col.span, 2)  # its two bounds, as written arguments are charged
            bounds = {"start": i * w, "stop": (i + 1) * w}
            x = b.op(OPS["slice"], bounds, dict.fromkeys(bounds, col.span), [cur], seg_join(cpath, "split"), col.span)
        b.scope(Scope(path=cpath, kind="column", name=label, span=col.span))
        outs.append(elab.pipeline(col.pipeline, x, cpath, frame, b, collapse=not split))
    if len(outs) == 1 and join in ("concat", "add", "mul"):
        return outs[0]
    merge = "concat" if join in ("concat", "shuffle", "project") else join
    merged = b.op(OPS[merge], {}, {}, outs, seg_join(path, merge), el.span, context="joining the columns")
    if join == "shuffle":
        b.budget.spend(el.span)
        merged = b.op(OPS["shuffle"], {"groups": k}, {"groups": el.span}, [merged], seg_join(path, "shuffle"), el.span)
    elif join == "project":
        c = out if out is not None else merged.type.c
        c = coerce(c, op_signature(OPS["conv"]).by_name["c"].annotation)
        where = spans.get("out", el.span)
        b.budget.spend(where)
        merged = b.op(OPS["conv"], {"c": c}, {"c": where}, [merged], seg_join(path, "project"), el.span)
    elif out is not None:
        raise error("E302", 'out = ... applies to join = "project"', spans["out"])
    return merged


def residual(elab: Elaborator, el: ast.Residual, cur: TensorVal, path: str, frame: Frame, b: Builder) -> TensorVal:
    bind(RESIDUAL, el.args, el.span, elab.evaluator(frame).eval)
    b.scope(Scope(path=path, kind="residual", name="residual", span=el.span))
    body = elab.pipeline(el.body, cur, seg_join(path, "body"), frame, b, collapse=True)
    short = cur
    if el.shortcut is not None:
        spath = seg_join(path, "shortcut")
        b.scope(Scope(path=spath, kind="shortcut", name="shortcut", span=el.shortcut.span))
        short = elab.pipeline(el.shortcut, cur, spath, frame, b, collapse=True)
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
    return b.emit(spec, margs, [body, short], out_t, seg_join(path, "add"), el.span)
