"""One analysis of a document's text: what ``archdsl check`` and ``archdsl lint`` say about it.

The steps are those of the two commands, on the text in the editor instead of the file on disk:
:func:`archdsl.resolve.load_program` (with ``text=``) and a :class:`~archdsl.resolve.Resolver`
for every net, as ``check`` does (its errors), then, when everything compiles, the lint engine's
configuration, :class:`~archdsl.rules.context.LintContext` and :meth:`Linter.check
<archdsl.rules.engine.Linter.check>`, as ``lint`` does (its findings, noqa comments applied). The
file is compiled once for both; parsing goes through :class:`~archdsl.lsp.incremental.IncrementalParser`.

An :class:`Analysis` is immutable once made and is read by the editor features while the next one
is being made. Its ``module`` is the current text's AST even when the text does not parse (the
definitions that did), its ``graphs`` are the nets that resolved.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from archdsl.diagnostics import Diagnostic, DiagnosticError, SourceMap
from archdsl.ir import Graph
from archdsl.lsp.incremental import IncrementalParser
from archdsl.resolve import Program
from archdsl.rules.base import Finding
from archdsl.syntax import ast


@dataclass
class Analysis:
    text: str  # the document's text as the client sent it
    version: int | None
    label: str  # the file name archdsl gives the text (its path), as in every span
    path: Path
    module: ast.Module | None = None
    parsed: bool = False  # the whole text parsed (``module`` is complete)
    program: Program | None = None
    graphs: dict[str, Graph] = field(default_factory=dict)
    errors: list[Diagnostic] = field(default_factory=list)  # archdsl check
    findings: list[Finding] = field(default_factory=list)  # archdsl lint (only when there are no errors)
    notices: list[str] = field(default_factory=list)  # lint configuration problems, rules that crashed
    timings: dict[str, float] = field(default_factory=dict)
    sources: SourceMap | None = field(default=None, repr=False)  # the text of every file, for quoting
    cache: dict = field(default_factory=dict, repr=False)  # per-analysis indexes, built on first use

    @property
    def has_ir(self) -> bool:
        return bool(self.graphs)


def analyze(
    text: str,
    path: Path,
    parser: IncrementalParser,
    version: int | None = None,
    lint: bool = True,
    isolated: bool = False,
) -> Analysis:
    """Compile and lint ``text`` as the file ``path``; never raises for anything the text holds."""
    from archdsl.fileio import forget_inputs
    from archdsl.resolve import Resolver, load_program
    from archdsl.rules.engine import _with_file

    label = str(path)
    out = Analysis(text=text, version=version, label=label, path=path)
    sources = out.sources = SourceMap()
    t0 = time.perf_counter()
    parser.results.pop(label, None)
    try:
        prog = load_program(path, text=text, sources=sources, parse=parser)
    except DiagnosticError as exc:
        prog = None
        out.errors = _with_file(exc.diagnostics, label)
    finally:
        forget_inputs()  # a server is a long run: imported files are no inputs of anything
    res = parser.results.get(label)
    out.module = prog.root if prog is not None else (res.module if res is not None else None)
    out.parsed = prog is not None or (res is not None and res.error is None)
    t1 = time.perf_counter()
    out.timings["parse+load"] = t1 - t0
    if prog is None:
        return out
    out.program = prog
    resolver = Resolver(prog)
    for name in resolver.net_names():
        try:
            out.graphs[name] = resolver.resolve(name)
        except DiagnosticError as exc:
            out.errors.extend(_with_file(exc.diagnostics, label))
    if prog.root.spaces:  # search spaces: their definitions (check also resolves sample points)
        from archdsl.space import build_space

        for sdef in prog.root.spaces:
            try:
                build_space(prog, sdef)
            except DiagnosticError as exc:
                out.errors.extend(_with_file(exc.diagnostics, label))
    t2 = time.perf_counter()
    out.timings["resolve"] = t2 - t1
    if lint and not out.errors:
        _lint(out, prog, sources, isolated)
        out.timings["lint"] = time.perf_counter() - t2
    return out


def _lint(out: Analysis, prog: Program, sources: SourceMap, isolated: bool) -> None:
    """The lint half of :meth:`archdsl.rules.engine.Linter.lint_file`, on the compiled program."""
    from archdsl.rules import config as cfgmod
    from archdsl.rules.context import LintContext
    from archdsl.rules.engine import Linter, LintUsageError, spec_preset

    linter = Linter(isolated=isolated)  # a fresh one: the configuration files may have changed
    try:
        resolved = linter.resolved_for(out.path)
        ctx = LintContext(
            file=out.label,
            text=prog.texts[out.label],
            program=prog,
            graphs=out.graphs,
            sources=sources,
            options=resolved.options,
            settings={"root": resolved.config.root},
        )
        codes = resolved.codes_for(out.path, spec_preset(out.graphs.values(), out.label))  # as `archdsl lint`
        out.findings, _ = linter.check(ctx, codes, resolved)
    except (LintUsageError, cfgmod.ConfigError) as exc:
        out.notices.append(f"lint configuration: {exc}")
    out.notices.extend(linter.internal_errors)
