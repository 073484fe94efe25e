"""An evaluator's options: a pydantic model, validated into located-enough B503/B504 diagnostics.

Each built-in evaluator declares ``options_model`` (a subclass of :class:`EvaluatorOptions`);
:func:`parse_options` turns the ``options`` dict given to ``evaluate`` into it, so an unknown key
is ``B503`` with a did-you-mean and a bad value ``B504`` naming the field, its type and default,
never a pydantic traceback. A third-party evaluator may use the same helper.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from archdsl.diagnostics import Diagnostic, DiagnosticError, Severity, did_you_mean


class EvaluatorOptions(BaseModel):
    """Base of an evaluator's options: unknown keys refused, immutable. ``evaluator`` names it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    evaluator: ClassVar[str] = "this"


def _field_help(model: type[BaseModel], key: str) -> str:
    f = model.model_fields[key]
    default = f.get_default(call_default_factory=True)
    return f"{key}: default {default!r}" + (f"; {f.description}" if f.description else "")


def parse_options(model: type[EvaluatorOptions], options: dict[str, Any] | BaseModel | None) -> Any:
    """``options`` validated by ``model`` (an instance of it is returned unchanged)."""
    if isinstance(options, model):
        return options
    if isinstance(options, BaseModel):
        options = options.model_dump(exclude_unset=True)
    name = getattr(model, "evaluator", "this")
    if options is not None and not isinstance(options, dict):
        raise DiagnosticError(
            Diagnostic("B504", f"the {name} evaluator's options must be a dict, got {type(options).__name__}", None)
        )
    try:
        return model(**dict(options or {}))
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key = str(err["loc"][0]) if err["loc"] else ""
        fields = model.model_fields
        if err["type"] == "extra_forbidden":
            hint = did_you_mean(key, set(fields)) or f"its options: {', '.join(fields) or 'none'}"
            raise DiagnosticError(
                Diagnostic("B503", f"the {name} evaluator has no option '{key}'", None, Severity.ERROR, hint)
            ) from None
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        hint = _field_help(model, key) if key in fields else None
        raise DiagnosticError(
            Diagnostic(
                "B504",
                f"the {name} evaluator option {key}: {msg}, got {err.get('input')!r}",
                None,
                Severity.ERROR,
                hint,
            )
        ) from None


__all__ = ["EvaluatorOptions", "parse_options"]
