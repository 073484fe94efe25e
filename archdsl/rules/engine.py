"""The lint engine: compile each spec, run the selected rules, merge, suppress, sort.

For one file: parse and resolve every net the file defines (a file that does not compile gets its
compiler diagnostics and no lint findings), build a :class:`LintContext`, run each active rule's
``check_program`` once and ``check_graph`` once per net, fill in severity and name, merge findings
that point at one place (a block instantiated ten times is one finding with a note), apply
``noqa`` comments and report the stale ones (AQ001).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from archdsl.diagnostics import Diagnostic, DiagnosticError, Severity, SourceMap, Span
from archdsl.rules import config as cfgmod
from archdsl.rules.base import SEVERITY_RANK, Finding, Rule, RuleConfigError
from archdsl.rules.context import LintContext
from archdsl.rules.noqa import Directive, parse_directives
from archdsl.rules.registry import COMPILER_CODES, Registry, default_registry

SKIP_DIRS = {"node_modules", "build", "dist", "__pycache__"}


class LintUsageError(Exception):
    """Bad configuration or options (exit code 2)."""


@dataclass
class FileResult:
    file: str
    findings: list[Finding] = field(default_factory=list)
    spec_errors: list[Diagnostic] = field(default_factory=list)
    suppressed: int = 0
    nets: int = 0
    fail_on: str = "warning"

    @property
    def failing(self) -> list[Finding]:
        if self.fail_on == "never":
            return []
        bar = SEVERITY_RANK[Severity(self.fail_on)]
        return [f for f in self.findings if SEVERITY_RANK[f.severity] >= bar]


@dataclass
class LintResult:
    files: list[FileResult]
    registry: Registry
    sources: SourceMap
    active: frozenset[str] = frozenset()
    internal_errors: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return [f for fr in self.files for f in fr.findings]

    @property
    def spec_errors(self) -> list[Diagnostic]:
        return [d for fr in self.files for d in fr.spec_errors]

    @property
    def rules(self) -> list[type[Rule]]:
        return [r for r in self.registry.rules if r.code in self.active]

    @property
    def failed(self) -> bool:
        return any(fr.failing for fr in self.files)


@dataclass
class Overrides:
    """Command-line settings on top of the configuration files."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: str | None = None

    def apply(self, cfg: cfgmod.LintConfig) -> cfgmod.LintConfig:
        return replace(
            cfg,
            select=self.select if self.select is not None else cfg.select,
            extend_select=cfg.extend_select + self.extend_select,
            ignore=cfg.ignore + self.ignore,
            fail_on=self.fail_on or cfg.fail_on,
        )


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders become their ``*.arch`` files (hidden and build folders skipped)."""
    out: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob("*.arch")
                if not any(part.startswith(".") or part in SKIP_DIRS for part in f.relative_to(p).parts[:-1])
            )
        else:
            found = [p]
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def _with_file(diags: list[Diagnostic], file: str) -> list[Diagnostic]:
    out = []
    for d in diags:
        if d.span is None:
            d = Diagnostic(d.code, d.message, Span(file, 0, 0, 0, 0), d.severity, d.help, d.notes)
        out.append(d)
    return out


def _merge(findings: list[Finding], nets_in_file: int) -> list[Finding]:
    """One finding per (code, place, message); the IR paths and nets it stands for go in notes."""
    groups: dict[tuple, list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.code, f.span, f.message), []).append(f)
    out = []
    for group in groups.values():
        first = group[0]
        paths = list(dict.fromkeys(f.path for f in group if f.path))
        nets = list(dict.fromkeys(f.net for f in group if f.net))
        notes = list(dict.fromkeys(n for f in group for n in f.notes))
        if paths:
            if len(paths) == 1:
                notes.append(f"IR node {paths[0]}")
            else:
                shown = ", ".join(paths[:3]) + (f", … ({len(paths) - 3} more)" if len(paths) > 3 else "")
                notes.append(f"{len(paths)} IR nodes: {shown}")
        if nets_in_file > 1 and nets and paths:
            notes.append(("net " if len(nets) == 1 else "nets ") + ", ".join(nets))
        out.append(first.with_(notes=tuple(notes)))
    return out


class Linter:
    """Lints files with configuration from ``config`` (one for all), or the nearest pyproject.toml."""

    def __init__(
        self,
        registry: Registry | None = None,
        config: cfgmod.LintConfig | None = None,
        isolated: bool = False,
        overrides: Overrides | None = None,
        ignore_noqa: bool = False,
    ):
        self.registry = registry or default_registry()
        self.explicit = config
        self.isolated = isolated
        self.overrides = overrides or Overrides()
        self.ignore_noqa = ignore_noqa
        self._by_source: dict[Path | None, cfgmod.Resolved] = {}
        self._dir_cache: dict[Path, Path | None] = {}
        self.sources = SourceMap()
        self.internal_errors: list[str] = []
        self.active: set[str] = set()

    # ---- configuration ------------------------------------------------------------------
    def resolved_for(self, file: Path) -> cfgmod.Resolved:
        try:
            if self.explicit is not None:
                source, loader = self.explicit.source, (lambda: self.explicit)
            elif self.isolated:
                source, loader = None, cfgmod.LintConfig
            else:
                folder = file.resolve().parent
                if folder not in self._dir_cache:
                    self._dir_cache[folder] = cfgmod.find_pyproject(folder)
                source = self._dir_cache[folder]
                loader = (lambda: cfgmod.load_pyproject(source)) if source else cfgmod.LintConfig
            if source not in self._by_source:
                self._by_source[source] = cfgmod.resolve(self.overrides.apply(loader()), self.registry)
            return self._by_source[source]
        except cfgmod.ConfigError as exc:
            raise LintUsageError(str(exc)) from None

    # ---- linting ------------------------------------------------------------------------
    def lint_paths(self, paths: Iterable[Path]) -> LintResult:
        results = [self.lint_file(p) for p in expand_paths(paths)]
        return LintResult(results, self.registry, self.sources, frozenset(self.active), self.internal_errors)

    def lint_file(self, path: Path, text: str | None = None) -> FileResult:
        from archdsl.resolve import Resolver, load_program

        resolved = self.resolved_for(path)
        label = str(path)
        result = FileResult(label, fail_on=resolved.config.fail_on)
        try:
            prog = load_program(path, text=text, sources=self.sources)
        except DiagnosticError as exc:
            result.spec_errors = _with_file(exc.diagnostics, label)
            return result
        resolver = Resolver(prog)
        graphs = {}
        for name in resolver.net_names():
            try:
                graphs[name] = resolver.resolve(name)
            except DiagnosticError as exc:
                result.spec_errors.extend(_with_file(exc.diagnostics, label))
        if result.spec_errors:
            return result
        result.nets = len(graphs)
        codes = resolved.codes_for(path)
        self.active |= codes
        ctx = LintContext(
            file=label,
            text=prog.texts[label],
            program=prog,
            graphs=graphs,
            sources=self.sources,
            options=resolved.options,
            settings={"root": resolved.config.root},
        )
        raw: list[Finding] = []
        for rule_cls in self.registry.rules:
            if rule_cls.code not in codes:
                continue
            rule = rule_cls()
            opts = resolved.options[rule_cls.code]
            try:
                found = list(rule.check_program(ctx, opts))
                for g in graphs.values():
                    found.extend(rule.check_graph(ctx, g, opts))
            except RuleConfigError as exc:
                raise LintUsageError(f"{rule_cls.code} ({rule_cls.name}): {exc}") from None
            except Exception as exc:  # a bug in a rule: a tool failure, not the spec's
                if os.environ.get("ARCHDSL_DEBUG"):
                    raise
                self.internal_errors.append(
                    f"rule {rule_cls.code} ({rule_cls.name}) failed on {label}: {type(exc).__name__}: {exc}"
                )
                continue
            sev = resolved.severity[rule_cls.code]
            raw.extend(f.with_(code=rule_cls.code, name=rule_cls.name, severity=sev) for f in found)
        merged = _merge(raw, len(graphs))
        if self.ignore_noqa:
            kept = merged
        else:
            kept, result.suppressed, directives = self._apply_noqa(merged, ctx.text, label)
            if "AQ001" in codes:
                kept.extend(self._stale(directives, codes, resolved))
        kept.sort(key=lambda f: (f.span.line if f.span else 0, f.span.col if f.span else 0, f.code, f.message))
        result.findings = kept
        return result

    # ---- suppression --------------------------------------------------------------------
    @staticmethod
    def _apply_noqa(findings: list[Finding], text: str, file: str):
        directives = parse_directives(text, file)
        by_line: dict[int, list[Directive]] = {}
        file_level = []
        for d in directives:
            (file_level if d.file_level else by_line.setdefault(d.line, [])).append(d)
        kept, suppressed = [], 0
        for f in findings:
            hit = False
            cands = [*by_line.get(f.span.line, []), *file_level] if f.span and f.span.file == file else file_level
            for d in cands:
                tok = d.matches(f.code)
                if tok is not None:
                    d.used.add(tok)
                    hit = True
            if hit:
                suppressed += 1
            else:
                kept.append(f)
        return kept, suppressed, directives

    def _stale(self, directives: list[Directive], codes: frozenset[str], resolved: cfgmod.Resolved) -> list[Finding]:
        rule = self.registry.by_code["AQ001"]()
        sev = resolved.severity["AQ001"]
        out = []
        for d in directives:
            if d.codes is None:
                if not d.used:
                    msg = "unused blanket noqa directive: nothing on this line is suppressed"
                    out.append(rule.finding(msg, d.span, help="remove the comment").with_(severity=sev))
                continue
            if "AQ001" in d.codes:
                continue
            unknown, unused = [], []
            for tok in d.codes:
                if tok in d.used:
                    continue
                matched = self.registry.expand(tok)
                if not matched:
                    if not tok.startswith(COMPILER_CODES):
                        unknown.append(tok)
                    else:
                        unused.append(tok)  # a compiler code: never a lint finding to suppress
                    continue
                if any(r.code in codes for r in matched):
                    unused.append(tok)
            parts = []
            if unused:
                parts.append("unused: " + ", ".join(unused))
            if unknown:
                parts.append("unknown: " + ", ".join(unknown))
            if not parts:
                continue
            kind = "noqa-file" if d.file_level else "noqa"
            where = "in this file" if d.file_level else "on this line"
            help_ = "remove the codes that suppress nothing" + (
                "; `archdsl rules` lists the codes" if unknown else f" (no such finding {where})"
            )
            out.append(
                rule.finding(f"unused {kind} directive ({'; '.join(parts)})", d.span, help=help_).with_(severity=sev)
            )
        return out


def lint_text(
    text: str,
    file: str = "example.arch",
    select: Iterable[str] | None = None,
    config: cfgmod.LintConfig | None = None,
    registry: Registry | None = None,
) -> FileResult:
    """Lint spec text (used by the docstring tests and handy in a REPL); no config files are read."""
    cfg = config or cfgmod.LintConfig()
    if select is not None:
        cfg = Overrides(select=tuple(select)).apply(cfg)
    linter = Linter(registry=registry, config=cfg)
    return linter.lint_file(Path(file), text=text)
