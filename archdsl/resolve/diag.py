"""Diagnostics helpers of the resolver: notes that say where an error was reached from, and an
op's schema errors (pydantic) in the words of the language."""

from __future__ import annotations

from archdsl.diagnostics import Diagnostic, DiagnosticError, Span
from archdsl.ops import OpSpec
from archdsl.resolve.values import show, type_name

_WANT = {
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
}


def with_note(exc: DiagnosticError, note: str) -> DiagnosticError:
    """The same diagnostics, each with ``note`` added (``in block 'b' used at ...``)."""
    return DiagnosticError(
        [Diagnostic(d.code, d.message, d.span, d.severity, d.help, (*d.notes, note)) for d in exc.diagnostics]
    )


def validation_diag(spec: OpSpec, e: dict, spans: dict[str, Span], span: Span) -> Diagnostic:
    """One error of an op's argument schema, at the argument it is about."""
    key = str(e["loc"][0]) if e.get("loc") else None
    where = spans.get(key, span) if key else span
    typ = e.get("type", "")
    got = e.get("input")
    field = spec.args.model_fields.get(key) if key else None
    desc = f" ({field.description})" if field is not None and field.description else ""
    if typ == "missing":
        return Diagnostic(
            "E304", f"'{spec.name}' needs argument '{key}'{desc}", span, help=f"e.g. {spec.name}({key} = ...)"
        )
    if typ in _WANT or typ == "literal_error":
        want = _WANT.get(typ)
        if typ == "literal_error":
            want = "one of " + str(e.get("ctx", {}).get("expected", ""))
        return Diagnostic(
            "E320", f"argument '{key}' of '{spec.name}' must be {want}, got {type_name(got)} {show(got)}", where
        )
    if typ == "axes_tuple":  # a per-axis argument (archdsl.ops.base.Window, Padding)
        return Diagnostic("E320", f"argument '{key}' of '{spec.name}': {e['msg']}", where, help=e["ctx"]["help"])
    if typ in ("greater_than_equal", "greater_than", "less_than", "less_than_equal"):
        return Diagnostic("E321", f"argument '{key}' of '{spec.name}': {e['msg'].lower()}, got {show(got)}", where)
    return Diagnostic("E320", f"argument '{key}' of '{spec.name}': {e['msg']}", where)
