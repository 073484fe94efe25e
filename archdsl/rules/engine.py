"""The lint engine: compile each spec, run the selected rules, merge, suppress, sort.

For one file: parse and resolve every net the file defines (a file that does not compile gets its
compiler diagnostics and no lint findings), build a :class:`LintContext`, run each active rule's
``check_program`` once and ``check_graph`` once per net, fill in severity and name, merge findings
that point at one place (a block instantiated ten times is one finding with a note), apply
``noqa`` comments and report the stale ones (AQ001).

Every step is linear in the size of the file and of its nets (a spec with 100,000 blocks is no
slower per block than one with 100): suppressions are looked up by line and by code, per-file
configuration is found once per folder, and the rules index what they scan
(``tests/test_lint_scaling.py`` counts the work).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from archdsl.diagnostics import Diagnostic, DiagnosticError, Severity, SourceMap, Span
from archdsl.fileio import InputError, note_input, read_input
from archdsl.rules import config as cfgmod
from archdsl.rules.base import SEVERITY_RANK, Finding, Rule, RuleConfigError
from archdsl.rules.context import LintContext
from archdsl.rules.noqa import Directive, parse_directives
from archdsl.rules.registry import COMPILER_CODES, Registry, default_registry
from archdsl.syntax.sources import expand_paths


class LintUsageError(Exception):
    """Bad configuration or options (exit code 2); ``config_error`` when a config file is at fault."""

    def __init__(self, message: str, config_error: cfgmod.ConfigError | None = None):
        super().__init__(message)
        self.config_error = config_error


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
    preset: str | None = None

    def apply(self, cfg: cfgmod.LintConfig) -> cfgmod.LintConfig:
        preset = self.preset or cfg.preset
        select = self.select if self.select is not None else cfg.select
        if self.preset is not None and self.select is None:
            select = None  # --preset replaces the configured selection, as --select does
        return replace(
            cfg,
            preset=preset,
            select=select,
            extend_select=cfg.extend_select + self.extend_select,
            ignore=cfg.ignore + self.ignore,
            fail_on=self.fail_on or cfg.fail_on,
        )


def _with_file(diags: list[Diagnostic], file: str) -> list[Diagnostic]:
    out = []
    for d in diags:
        if d.span is None:
            d = Diagnostic(d.code, d.message, Span(file, 0, 0, 0, 0), d.severity, d.help, d.notes)
        out.append(d)
    return out


def _unreadable(path: Path, label: str) -> Diagnostic | None:
    """Why the spec at ``path`` cannot be read, or None (it is then recorded as an input).

    A FIFO or a device (``/dev/zero``), found on the command line or by a folder search, would
    block the reader or never end; a file over the size limit would be read whole before the
    parser refuses it. Both are refused here without reading more than the limit.
    """
    from archdsl.syntax.parser import MAX_SOURCE_BYTES

    try:
        read_input(path, MAX_SOURCE_BYTES, label)  # also records it: a report never replaces a spec
    except InputError as exc:
        if exc.reason == "too_large":
            return Diagnostic(
                "E105",
                f"file is larger than {MAX_SOURCE_BYTES // (1024 * 1024)} MiB",
                Span(label, 1, 1, 1, 2),
                help="split the spec into files that import each other",
            )
        return Diagnostic(
            "E602", exc.message, Span(label, 0, 0, 0, 0), help="lint reads spec files (*.arch): regular text files"
        )
    return None


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
        self._finder = cfgmod.ConfigFinder()
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
                source = self._finder.find(file.resolve().parent)
                loader = (lambda: self._finder.load(source)) if source else cfgmod.LintConfig
            if source not in self._by_source:
                self._by_source[source] = cfgmod.resolve(self.overrides.apply(loader()), self.registry)
            return self._by_source[source]
        except cfgmod.ConfigError as exc:
            raise LintUsageError(str(exc), exc) from None

    # ---- linting ------------------------------------------------------------------------
    def lint_paths(self, paths: Iterable[Path]) -> LintResult:
        results = [self.lint_file(p) for p in expand_paths(paths)]
        return LintResult(results, self.registry, self.sources, frozenset(self.active), self.internal_errors)

    def lint_file(self, path: Path, text: str | None = None) -> FileResult:
        from archdsl.resolve import Resolver, load_program

        resolved = self.resolved_for(path)
        label = str(path)
        result = FileResult(label, fail_on=resolved.config.fail_on)
        if text is None:
            unreadable = _unreadable(path, label)
            if unreadable is not None:
                result.spec_errors = [unreadable]
                return result
        try:
            prog = load_program(path, text=text, sources=self.sources)
        except DiagnosticError as exc:
            result.spec_errors = _with_file(exc.diagnostics, label)
            return result
        for name in prog.texts:
            if name != label and not name.startswith("<"):
                note_input(name)  # imported files
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
        preset = None if self.overrides.preset else spec_preset(graphs.values(), label)  # --preset wins
        codes = resolved.codes_for(path, preset)
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
        result.findings, result.suppressed = self.check(ctx, codes, resolved)
        return result

    def check(self, ctx: LintContext, codes: frozenset[str], resolved: cfgmod.Resolved) -> tuple[list[Finding], int]:
        """Run the rules in ``codes`` on a compiled file; the sorted findings and how many noqa suppressed."""
        label, graphs = ctx.file, ctx.graphs
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
        suppressed = 0
        if self.ignore_noqa:
            kept = merged
        else:
            kept, suppressed, directives = self._apply_noqa(merged, ctx.text, label)
            if "AQ001" in codes:
                kept.extend(self._stale(directives, codes, resolved))
        kept.sort(key=lambda f: (f.span.line if f.span else 0, f.span.col if f.span else 0, f.code, f.message))
        return kept, suppressed

    # ---- suppression --------------------------------------------------------------------
    @staticmethod
    def _apply_noqa(findings: list[Finding], text: str, file: str):
        """Drop the findings that a directive covers; mark the codes of each directive that were used.

        Line directives are looked up by line; the file-level ones are tried once per distinct
        code (whether one covers a code does not depend on the finding), so the work is linear in
        the findings plus the directives, however many of each a file has.
        """
        directives = parse_directives(text, file)
        by_line: dict[int, list[Directive]] = {}
        file_level: list[Directive] = []
        for d in directives:
            (file_level if d.file_level else by_line.setdefault(d.line, [])).append(d)
        file_hit: dict[str, bool] = {}
        kept, suppressed = [], 0
        for f in findings:
            hit = file_hit.get(f.code)
            if hit is None:
                hit = False
                for d in file_level:
                    tok = d.matches(f.code)
                    if tok is not None:
                        d.used.add(tok)
                        hit = True
                file_hit[f.code] = hit
            if f.span and f.span.file == file:
                for d in by_line.get(f.span.line, ()):
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
        expanded: dict[str, list[type[Rule]]] = {}
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
                matched = expanded.get(tok)
                if matched is None:
                    matched = expanded[tok] = self.registry.expand(tok)
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


def spec_preset(graphs: Iterable, file: str) -> str | None:
    """The preset a file's nets ask for: ``meta { lint = "NAME" }``, else ``meta { family = ... }``
    of a family with a preset (AttendNeXt). An unknown preset name is a usage error."""
    from archdsl.rules.registry import FAMILY_PRESETS, PRESETS

    chosen = None
    for g in graphs:
        name = g.meta.get("lint")
        if name is not None:
            if name not in PRESETS:
                from archdsl.diagnostics import did_you_mean

                hint = did_you_mean(str(name), set(PRESETS))
                raise LintUsageError(
                    f"{file}: net {g.name}: meta lint = {name!r} names no lint preset (presets: {', '.join(PRESETS)})"
                    + (f"; {hint}" if hint else "")
                )
        else:
            name = FAMILY_PRESETS.get(str(g.meta.get("family", "")))
        if (name is not None and name != "default") or (name is not None and chosen is None):
            chosen = name
    return chosen


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
