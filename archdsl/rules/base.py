"""The rule protocol: a :class:`Rule` class, its options, its documentation and its findings.

A rule is a class with an explicit ``code`` (a family of two capital letters and three digits,
``AD101``), a kebab-case ``name``, a default ``severity``, an ``options`` model and a docstring in
fixed sections (``## What it does`` / ``## Why is this bad?`` / ``## Example`` / ``## Use instead``
/ ``## Options``). The docs pages in ``docs/rules/`` are generated from the docstring, and a test
lints each rule's "Example" (which must trigger it) and "Use instead" (which must not).

A rule looks at one spec file at a time, through :class:`archdsl.rules.context.LintContext`:

* ``check_program(ctx, options)`` runs once per file, over the AST (``ctx.program``) and the text;
* ``check_graph(ctx, graph, options)`` runs once per net the file defines, over its IR graph.

Both yield :class:`Finding` objects made with :meth:`Rule.finding`.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict

from archdsl.diagnostics import Diagnostic, Severity, Span

if TYPE_CHECKING:
    from archdsl.ir import Graph
    from archdsl.rules.context import LintContext

SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "Options")
CODE_RE = re.compile(r"^[A-Z]{2}[0-9]{3}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


def _kebab(name: str) -> str:
    return name.replace("_", "-")


class RuleConfigError(Exception):
    """A rule cannot run as configured (a missing results file, say): a usage error, exit code 2."""


class RuleOptions(BaseModel):
    """Base of every rule's options: kebab-case keys in the config, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, alias_generator=_kebab)


class NoOptions(RuleOptions):
    pass


@dataclass(frozen=True)
class Finding:
    """One problem a rule found. ``code``, ``name`` and ``severity`` are filled in by the engine."""

    code: str
    message: str
    span: Span | None
    help: str | None = None
    notes: tuple[str, ...] = ()
    severity: Severity = Severity.WARNING
    name: str = ""
    net: str | None = None
    path: str | None = field(default=None, compare=False)

    def with_(self, **changes) -> Finding:
        return replace(self, **changes)

    def to_diagnostic(self) -> Diagnostic:
        return Diagnostic(self.code, self.message, self.span, self.severity, self.help, self.notes)

    def to_json(self) -> dict:
        s = self.span
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity.value,
            "message": self.message,
            "file": s.file if s else None,
            "line": s.line if s else None,
            "col": s.col if s else None,
            "end_line": s.end_line if s else None,
            "end_col": s.end_col if s else None,
            "help": self.help,
            "notes": list(self.notes),
            "net": self.net,
            "path": self.path,
        }


@dataclass(frozen=True)
class RuleDoc:
    """A rule's docstring split into its fixed sections (markdown text, headings removed)."""

    sections: dict[str, str]

    def __getitem__(self, key: str) -> str:
        return self.sections[key]

    @property
    def summary(self) -> str:
        """The first sentence of "What it does", on one line."""
        text = " ".join(self.sections.get("What it does", "").split())
        m = re.match(r"(.+?[.!?])(\s|$)", text)
        return m.group(1) if m else text

    def code_blocks(self, section: str) -> list[str]:
        """The fenced ``arch`` code blocks of a section, in order."""
        return [m.group(1) for m in re.finditer(r"```arch\n(.*?)```", self.sections.get(section, ""), re.S)]


def parse_doc(doc: str | None) -> RuleDoc:
    text = inspect.cleandoc(doc or "")
    sections: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        m = re.match(r"^## (.+?)\s*$", line)
        if m:
            if current is not None:
                sections[current] = "\n".join(lines).strip()
            current, lines = m.group(1), []
        elif current is not None:
            lines.append(line)
    if current is not None:
        sections[current] = "\n".join(lines).strip()
    return RuleDoc(sections)


class Rule:
    """Base class of lint rules. Subclasses set the class attributes and override a ``check_*``."""

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity] = Severity.WARNING
    options: ClassVar[type[RuleOptions]] = NoOptions
    #: set by the registry: "built-in" or the distribution/entry point that provided the rule
    origin: ClassVar[str] = "built-in"

    def check_program(self, ctx: LintContext, options: RuleOptions) -> Iterable[Finding]:
        return ()

    def check_graph(self, ctx: LintContext, graph: Graph, options: RuleOptions) -> Iterable[Finding]:
        return ()

    def finding(
        self,
        message: str,
        span: Span | None,
        *,
        help: str | None = None,
        notes: tuple[str, ...] | list[str] = (),
        net: str | None = None,
        path: str | None = None,
    ) -> Finding:
        return Finding(
            self.code,
            message,
            span,
            help=help,
            notes=tuple(notes),
            severity=self.severity,
            name=self.name,
            net=net,
            path=path,
        )

    @classmethod
    def doc(cls) -> RuleDoc:
        return parse_doc(inspect.getdoc(cls))

    @classmethod
    def summary(cls) -> str:
        return cls.doc().summary

    @classmethod
    def family(cls) -> str:
        return cls.code[:2]


def validate_rule(cls: type) -> list[str]:
    """Problems with a rule class (empty when it is well formed)."""
    problems: list[str] = []
    if not (isinstance(cls, type) and issubclass(cls, Rule)):
        return [f"{cls!r} is not a subclass of archdsl.rules.Rule"]
    code = getattr(cls, "code", None)
    name = getattr(cls, "name", None)
    label = code or cls.__name__
    if not isinstance(code, str) or not CODE_RE.match(code):
        problems.append(f"{label}: code {code!r} is not two capital letters and three digits (e.g. 'XY123')")
    if not isinstance(name, str) or not NAME_RE.match(name):
        problems.append(f"{label}: name {name!r} is not kebab-case (e.g. 'my-rule')")
    if not isinstance(cls.severity, Severity):
        problems.append(f"{label}: severity must be an archdsl.diagnostics.Severity")
    if not (isinstance(cls.options, type) and issubclass(cls.options, RuleOptions)):
        problems.append(f"{label}: options must be a subclass of archdsl.rules.RuleOptions")
    doc = cls.doc()
    for section in SECTIONS:
        if not doc.sections.get(section):
            problems.append(f"{label}: the docstring has no '## {section}' section")
    extra = set(doc.sections) - set(SECTIONS)
    if extra:
        problems.append(f"{label}: unknown docstring sections {sorted(extra)}; use {list(SECTIONS)}")
    if not problems:
        for section in ("Example", "Use instead"):
            if not doc.code_blocks(section):
                problems.append(f"{label}: the '{section}' section has no ```arch code block")
        opts = doc.sections["Options"]
        for fname, f in cls.options.model_fields.items():
            key = f.alias or fname
            if f"`{key}`" not in opts:
                problems.append(f"{label}: option `{key}` is not documented in the Options section")
    return problems
