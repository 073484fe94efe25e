"""The backend hook: how a target (PyTorch, ONNX, Graphviz, a benchmark device ...) plugs in.

A backend is any object with the attributes of :class:`Backend`, published under the entry-point
group ``archdsl.backends``. The built-in backends in ``backends/`` (installed as the package
``archdsl_backends``) are registered in ``pyproject.toml`` exactly the way a third-party package
registers its own::

    [project.entry-points."archdsl.backends"]
    mytarget = "my_package.archdsl_target:BACKEND"

    [project.entry-points."archdsl.backend_options"]     # optional: `compile --help` lists them
    mytarget = "my_package.options:MyOptions"            # without importing the backend

``archdsl compile SPEC --backend mytarget`` then loads it lazily: nothing of a backend is imported
until it is used, so ``archdsl check`` and ``archdsl lint`` stay free of torch and onnx.

Besides the four required attributes (``name``, ``summary``, ``unsupported``, ``compile``) a
backend declares what it offers, and the command line and :func:`archdsl.build` reach it only
through these declarations (the helpers below):

- ``options_model``: a pydantic model, best a subclass of :class:`Options`, of its ``-O`` options
  (name, type, default, description). The hook validates ``-O`` values against it
  (:func:`parse_options`): an unknown key is ``B004`` with a did-you-mean, a bad value ``B005``.
- ``unsupported(graph, options)``: every node it cannot express *with these options*, as located
  ``B001`` diagnostics (:func:`unsupported_op`), so limits may depend on them (an opset).
- ``emits`` (and ``default_emits``): the artefacts ``--emit`` may ask for (else ``B006``).
- ``capabilities``: ``"build_module"`` (``build_module(graph, seed, deploy)`` returns a module,
  used by :func:`archdsl.build`) and ``"render"`` (``render(graph, options, fmt)`` returns bytes
  in one of ``render_formats``, used by ``archdsl render``); a missing one is ``B007``.
- ``output_paths(graph, request)``: the files ``compile`` would write, checked before any work.

Older backends with only the four attributes (``unsupported(graph)``, a dict of options) keep
working; :func:`unsupported` calls them the old way with a DeprecationWarning. Error codes come
from :mod:`archdsl.codes`. See docs/backends.md for a worked example.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, ValidationError

from archdsl.diagnostics import Diagnostic, DiagnosticError, Severity, did_you_mean

if TYPE_CHECKING:  # the IR (and the op registry under it) is not needed to read options: `compile --help`
    from archdsl.ir import Graph

GROUP = "archdsl.backends"
OPTIONS_GROUP = "archdsl.backend_options"

# The optional extra that brings each built-in backend's dependencies.
EXTRAS = {"torch": "torch", "onnx": "onnx", "graphviz": "render"}

BUILD_MODULE = "build_module"
RENDER = "render"


@dataclass
class CompileRequest:
    """What the user asked for. ``options`` holds the backend's validated options model when the
    command line made the request (a plain dict for backends without ``options_model``, or when
    called from Python: :func:`parse_options` accepts both)."""

    output: Path | None = None
    emit: tuple[str, ...] = ()
    seed: int = 0
    deploy: bool = False
    options: Any = field(default_factory=dict)


@dataclass
class CompileResult:
    artefacts: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


@runtime_checkable
class Backend(Protocol):
    """The required attributes; the optional ones are listed in the module docstring."""

    name: str
    summary: str

    def unsupported(self, graph: Graph, options: Any = None) -> list[Diagnostic]:
        """Diagnostics for every node this backend cannot express with ``options`` (empty: all fine)."""

    def compile(self, graph: Graph, request: CompileRequest) -> CompileResult:
        """Write the artefacts for ``graph``; raise DiagnosticError for user-facing problems."""


# ---- options --------------------------------------------------------------------------------------


class OptionProblem(ValueError):
    """Raised by an options model's validators: the message, help and code (``B005`` a bad value,
    ``B006`` an unknown format) of the diagnostic the hook makes of it."""

    def __init__(self, message: str, help: str | None = None, code: str = "B005") -> None:
        super().__init__(message)
        self.message = message
        self.help = help
        self.code = code


class OptionError(DiagnosticError):
    """A bad option (``B004`` unknown, ``B005`` bad value, ``B006`` unknown artefact or format):
    the command line's fault, exit 2. ``message`` and ``hint`` as the diagnostic's."""

    def __init__(self, message: str, hint: str | None = None, code: str = "B005") -> None:
        super().__init__(Diagnostic(code, message, None, Severity.ERROR, hint))
        self.message = message
        self.hint = hint


class Options(BaseModel):
    """Base of a backend's options model: unknown keys refused, values checked strictly (a flag is
    true or false, not 1), immutable. Constructing one with bad values raises :class:`OptionError`
    (never a pydantic traceback). Set ``backend`` to the backend's name for the messages, and give
    every field a ``description`` (``compile --help`` prints it)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    backend: ClassVar[str] = "this"

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise option_error(type(self), exc) from None


_KIND_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
_TYPE_NAMES = {bool: "bool", int: "int", float: "float", str: "str"}


def _types(annotation: Any) -> list[Any]:
    return [a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None)]


def _kind(annotation: Any) -> str:
    words = [_KIND_WORDS.get(a, getattr(a, "__name__", str(a))) for a in _types(annotation)]
    return " or ".join(dict.fromkeys(words))


def _shown(default: Any) -> str:
    return "-" if default is None else str(default).lower() if isinstance(default, bool) else str(default)


def describe(model: type[BaseModel]) -> list[tuple[str, str, str, str]]:
    """``(name, type, default, description)`` of every option of ``model``, for help texts."""
    rows = []
    for name, f in model.model_fields.items():
        kind = "|".join(dict.fromkeys(_TYPE_NAMES.get(a, getattr(a, "__name__", str(a))) for a in _types(f.annotation)))
        rows.append((name, kind, _shown(f.get_default(call_default_factory=True)), f.description or ""))
    return rows


def _field_help(model: type[BaseModel], key: str) -> str:
    f = model.model_fields[key]
    default = f.get_default(call_default_factory=True)
    shown = "unset" if default is None else _shown(default)
    return f"{key}: {_kind(f.annotation)}, default {shown}" + (f"; {f.description}" if f.description else "")


def option_error(model: type[BaseModel], exc: ValidationError) -> OptionError:
    """The first problem of a pydantic validation, as a B004/B005 diagnostic with a useful help."""
    err = exc.errors(include_url=False)[0]
    name = getattr(model, "backend", "this")
    fields = model.model_fields
    key = str(err["loc"][0]) if err["loc"] else ""
    if err["type"] == "extra_forbidden":
        return OptionError(
            f"the {name} backend has no option '{key}'",
            did_you_mean(key, set(fields)) or f"its options: {', '.join(fields)}",
            code="B004",
        )
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, OptionProblem):
        return OptionError(
            cause.message, cause.help or (_field_help(model, key) if key in fields else None), cause.code
        )
    got = err.get("input")
    if key not in fields:  # a model-level check that raised a plain ValueError
        return OptionError(f"the {name} backend options: {err['msg']}", "see `archdsl compile --help`")
    ctx = err.get("ctx") or {}
    if "ge" in ctx:
        problem = f"must be at least {ctx['ge']}"
    elif "le" in ctx:
        problem = f"must be at most {ctx['le']}"
    elif err["type"] == "literal_error":
        problem = f"must be {ctx.get('expected', 'one of the listed values')}"
    else:
        problem = f"must be {_kind(fields[key].annotation)}"
    return OptionError(f"the {name} backend option {key} {problem}, got {got!r}", _field_help(model, key))


def options_model(backend: Any) -> type[BaseModel] | None:
    return getattr(backend, "options_model", None)


def parse_options(backend: Any, values: Any = None) -> Any:
    """``values`` (a dict of ``-O`` values, or already the model) validated by ``backend``'s
    options model; a backend without a model gets the dict back unchanged."""
    model = options_model(backend)
    if model is None:
        return dict(values or {})
    if isinstance(values, model):
        return values
    if isinstance(values, BaseModel):
        values = values.model_dump(exclude_unset=True)
    values = dict(values or {})
    try:
        return model(**values)
    except ValidationError as exc:  # a model that is not an Options subclass
        raise option_error(model, exc) from None


# ---- what a backend declares -------------------------------------------------------------------------


def unsupported(backend: Any, graph: Graph, options: Any = None) -> list[Diagnostic]:
    """``backend.unsupported(graph, options)``; an old backend's ``unsupported(graph)`` still works."""
    method = backend.unsupported
    try:
        params = inspect.signature(method).parameters.values()
        takes_options = (
            sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params) >= 2
        )
    except (TypeError, ValueError):  # no signature to read: assume the current protocol
        takes_options = True
    if takes_options:
        return list(method(graph, options))
    warnings.warn(
        f"backend {getattr(backend, 'name', backend)!r}: unsupported(graph) without options is deprecated; "
        "define unsupported(graph, options=None) (docs/backends.md)",
        DeprecationWarning,
        stacklevel=2,
    )
    return list(method(graph))


def emits(backend: Any) -> tuple[str, ...]:
    """The artefacts ``--emit`` may name; empty when the backend does not say."""
    return tuple(getattr(backend, "emits", ()) or ())


def check_emits(backend: Any, requested: tuple[str, ...] | list[str]) -> None:
    """``B006`` for an ``--emit`` the backend does not declare (nothing is checked if it declares none)."""
    known = emits(backend)
    bad = [e for e in requested if known and e not in known]
    if bad:
        raise OptionError(
            f"the {backend.name} backend cannot emit {bad[0]!r}",
            " ".join(filter(None, (did_you_mean(bad[0], set(known)), f"--emit takes: {', '.join(known)}"))),
            code="B006",
        )


def capable(backend: Any, capability: str) -> bool:
    return capability in getattr(backend, "capabilities", ()) and callable(getattr(backend, capability, None))


def require(backend: Any, capability: str, what: str) -> None:
    """``B007`` unless ``backend`` declares ``capability`` (``build_module``, ``render``)."""
    if not capable(backend, capability):
        raise DiagnosticError(
            Diagnostic(
                "B007",
                f"the {backend.name} backend cannot {what}",
                None,
                Severity.ERROR,
                f"it declares {', '.join(sorted(getattr(backend, 'capabilities', ()))) or 'no capabilities'}; "
                f"choose a backend that can {what}",
            )
        )


def choose_format(
    formats: Mapping[str, tuple[str, ...]], output: Path | None, fmt: str | None, default: str, to_stdout: bool = False
) -> str:
    """The format to write: ``fmt`` when given (a name or an extension), else from ``output``'s
    extension, else ``default``. ``formats`` maps each format to its file extensions; a format or
    an extension not among them is ``B006``."""
    by_ext = {ext: f for f, exts in formats.items() for ext in exts}
    if fmt:
        f = fmt.lower().lstrip(".")
        f = by_ext.get("." + f, f)
        if f not in formats:
            raise OptionError(
                f"unknown format '{fmt}'",
                did_you_mean(f, set(formats)) or "choose one of: " + ", ".join(formats),
                code="B006",
            )
        return f
    if output is not None and not to_stdout:
        ext = output.suffix.lower()
        if ext in by_ext:
            return by_ext[ext]
        if ext:
            raise OptionError(
                f"cannot tell the format from the extension '{ext}'",
                f"use {', '.join(by_ext)}, or pass --format",
                code="B006",
            )
    return default


def render_format(backend: Any, output: Path | None, fmt: str | None, to_stdout: bool = False) -> str:
    """:func:`choose_format` over what a render-capable backend declares: ``render_formats``,
    ``default_format`` (default: the first) and ``stdout_format`` (for ``-o -``)."""
    formats = dict(backend.render_formats)
    first = next(iter(formats))
    default = getattr(backend, "stdout_format", first) if to_stdout else getattr(backend, "default_format", first)
    return choose_format(formats, output, fmt, default, to_stdout)


# ---- diagnostics and loading ------------------------------------------------------------------------


def unsupported_op(backend: str, node, detail: str = "") -> Diagnostic:
    """The standard B001 diagnostic for an op a backend cannot express."""
    msg = f"the {backend} backend cannot express op '{node.op}' (node {node.id})"
    return Diagnostic(
        "B001",
        msg + (f": {detail}" if detail else ""),
        node.span,
        Severity.ERROR,
        help=f"remove the op or choose another backend than '{backend}'",
    )


def available() -> dict[str, Any]:
    """Entry points of the group, by name (not loaded)."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def _missing(name: str, exc: ImportError) -> DiagnosticError:
    missing = getattr(exc, "name", None) or str(exc)
    return DiagnosticError(
        Diagnostic(
            "B003",
            f"the {name} backend needs '{missing}', which is not installed",
            None,
            help=f"pip install 'archdsl[{EXTRAS.get(name, name)}]'",
        )
    )


def load(name: str) -> Backend:
    eps = available()
    if name not in eps:
        raise DiagnosticError(
            Diagnostic(
                "B002",
                f"unknown backend '{name}'",
                None,
                help=did_you_mean(name, set(eps)) or f"installed backends: {', '.join(sorted(eps))}",
            )
        )
    try:
        obj = eps[name].load()
    except ImportError as exc:
        raise _missing(name, exc) from None
    return obj


def option_models() -> dict[str, type[BaseModel] | str]:
    """Each installed backend's options model, for help texts, without importing the backends
    that publish theirs under ``archdsl.backend_options``; the others are loaded (a string says
    why no model could be had)."""
    published = {ep.name: ep for ep in entry_points(group=OPTIONS_GROUP)}
    out: dict[str, type[BaseModel] | str] = {}
    for name in sorted(available()):
        try:
            if name in published:
                out[name] = published[name].load()
                continue
            model = options_model(load(name))
        except ImportError as exc:
            out[name] = f"not installed ({getattr(exc, 'name', None) or exc})"
            continue
        except DiagnosticError as exc:
            out[name] = exc.diagnostics[0].message
            continue
        out[name] = model if model is not None else "options not declared (no options_model)"
    return out
