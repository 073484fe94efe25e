"""Lint configuration: ``[tool.archdsl.lint]`` in the nearest ``pyproject.toml``, or ``--config``.

::

    [tool.archdsl.lint]
    select = ["ALL"]                  # codes, code prefixes ("AD", "AR2"), rule names, or "ALL"
    extend-select = []                # added to select
    ignore = ["AR203"]                # removed from the selection (ignore wins over select)
    fail-on = "warning"               # the lowest severity that fails the run: error|warning|info|never
    severity = { AR203 = "warning" }  # per-rule severity overrides (code or name)

    [tool.archdsl.lint.per-file-ignores]
    "specs/baselines/*.arch" = ["AD"] # globs relative to the pyproject.toml's folder; ** spans folders

    [tool.archdsl.lint.rules.AD101]   # a rule's options, by code or name; thresholds live here
    min-columns = 2
    stage-min = { stage1 = 4 }

The nearest ``pyproject.toml`` upward from each spec that has a ``[tool.archdsl]`` table applies to
it (files without that table are passed over, as ruff does). ``--config FILE`` names one file for
every spec: its ``[tool.archdsl.lint]`` table, or, when it has none, the whole file is the table.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from archdsl.diagnostics import Severity, did_you_mean
from archdsl.rules.base import RuleOptions
from archdsl.rules.registry import Registry

KEYS = ("select", "extend-select", "ignore", "fail-on", "severity", "per-file-ignores", "rules")
FAIL_ON = ("error", "warning", "info", "never")


class ConfigError(Exception):
    """The configuration is invalid (a usage error: exit code 2)."""


@dataclass
class LintConfig:
    select: tuple[str, ...] = ("ALL",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    fail_on: str = "warning"
    severity: dict[str, Severity] = field(default_factory=dict)
    per_file_ignores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    root: Path = field(default_factory=Path.cwd)
    source: Path | None = None

    def where(self) -> str:
        return str(self.source) if self.source else "the command line"


def _strings(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of strings")
    out: list[str] = []
    for v in value:
        out.extend(s.strip() for s in v.split(",") if s.strip())
    return tuple(out)


def from_table(table: dict[str, Any], root: Path, source: Path | None) -> LintConfig:
    """Build a config from a ``[tool.archdsl.lint]`` table (validated; raises ConfigError)."""
    where = str(source) if source else "config"
    unknown = [k for k in table if k not in KEYS]
    if unknown:
        hint = did_you_mean(unknown[0], set(KEYS))
        raise ConfigError(f"{where}: unknown key '{unknown[0]}' in [tool.archdsl.lint]" + (f"; {hint}" if hint else ""))
    cfg = LintConfig(root=root, source=source)
    if "select" in table:
        cfg.select = _strings(table["select"], "select", where)
    if "extend-select" in table:
        cfg.extend_select = _strings(table["extend-select"], "extend-select", where)
    if "ignore" in table:
        cfg.ignore = _strings(table["ignore"], "ignore", where)
    if "fail-on" in table:
        if table["fail-on"] not in FAIL_ON:
            raise ConfigError(f"{where}: 'fail-on' must be one of {', '.join(FAIL_ON)}, got {table['fail-on']!r}")
        cfg.fail_on = table["fail-on"]
    sev = table.get("severity", {})
    if not isinstance(sev, dict):
        raise ConfigError(f"{where}: 'severity' must be a table of code = \"error|warning|info\"")
    for k, v in sev.items():
        try:
            cfg.severity[k] = Severity(v)
        except ValueError:
            raise ConfigError(f"{where}: severity of {k} must be error, warning or info, got {v!r}") from None
    pfi = table.get("per-file-ignores", {})
    if not isinstance(pfi, dict):
        raise ConfigError(f"{where}: 'per-file-ignores' must be a table of \"glob\" = [codes]")
    cfg.per_file_ignores = {k: _strings(v, f"per-file-ignores.{k}", where) for k, v in pfi.items()}
    rules = table.get("rules", {})
    if not isinstance(rules, dict) or not all(isinstance(v, dict) for v in rules.values()):
        raise ConfigError(
            f"{where}: 'rules' must hold one table of options per rule, e.g. [tool.archdsl.lint.rules.AD101]"
        )
    cfg.rule_options = dict(rules)
    return cfg


def load_file(path: Path) -> LintConfig:
    """Read a config file named with --config."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file '{path}' not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file '{path}': {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    lint = data.get("tool", {}).get("archdsl", {}).get("lint")
    table = lint if isinstance(lint, dict) else data
    return from_table(table, path.resolve().parent, path)


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml upward from ``start`` that has a [tool.archdsl] table."""
    d = start.resolve()
    if d.is_file():
        d = d.parent
    for folder in (d, *d.parents):
        cand = folder / "pyproject.toml"
        if cand.is_file():
            try:
                data = tomllib.loads(cand.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"{cand}: cannot read it: {exc}") from None
            if isinstance(data.get("tool", {}).get("archdsl"), dict):
                return cand
    return None


def load_pyproject(path: Path) -> LintConfig:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    table = data.get("tool", {}).get("archdsl", {}).get("lint", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.archdsl.lint] must be a table")
    return from_table(table, path.resolve().parent, path)


# ---- resolving the configuration against the registry ---------------------------------------


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """A path glob: ``*`` and ``?`` stay inside one folder, ``**/`` spans any number of folders."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def relative_key(file: Path, root: Path) -> str:
    """The file's path relative to the config root, POSIX style (the path as given if outside)."""
    try:
        return file.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return file.as_posix()


@dataclass(frozen=True)
class Resolved:
    """A config checked against the registry: which codes run, at what severity, with what options."""

    config: LintConfig
    active: frozenset[str]
    severity: dict[str, Severity]
    options: dict[str, RuleOptions]
    #: (glob, compiled glob, codes dropped)
    per_file_ignores: tuple[tuple[str, re.Pattern[str], frozenset[str]], ...] = ()

    def codes_for(self, file: Path) -> frozenset[str]:
        """The active codes for one file, after per-file ignores."""
        key = relative_key(file, self.config.root)
        name = file.name
        drop: set[str] = set()
        for glob, pattern, codes in self.per_file_ignores:
            if pattern.match(key) or ("/" not in glob and pattern.match(name)):
                drop |= codes
        return self.active - drop


def _expand(reg: Registry, selectors: tuple[str, ...], what: str, where: str) -> set[str]:
    out: set[str] = set()
    for s in selectors:
        rules = reg.expand(s)
        if not rules:
            hint = reg.suggestion(s)
            raise ConfigError(f"{where}: {what} '{s}' matches no rule" + (f"; {hint}" if hint else ""))
        out |= {r.code for r in rules}
    return out


def resolve(cfg: LintConfig, reg: Registry) -> Resolved:
    where = cfg.where()
    active = _expand(reg, cfg.select, "select", where) | _expand(reg, cfg.extend_select, "extend-select", where)
    active -= _expand(reg, cfg.ignore, "ignore", where)
    severity = {r.code: r.severity for r in reg.rules}
    for key, sev in cfg.severity.items():
        for code in _expand(reg, (key,), "severity", where):
            severity[code] = sev
    options: dict[str, RuleOptions] = {}
    given: dict[str, dict[str, Any]] = {}
    for key, table in cfg.rule_options.items():
        rule = reg.get(key)
        if rule is None:
            hint = reg.suggestion(key)
            raise ConfigError(f"{where}: [rules.{key}]: no rule has this code or name" + (f"; {hint}" if hint else ""))
        given.setdefault(rule.code, {}).update(table)
    for rule in reg.rules:
        try:
            options[rule.code] = rule.options.model_validate(given.get(rule.code, {}))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(x) for x in err.get("loc", ()))
            raise ConfigError(f"{where}: [rules.{rule.code}] {loc}: {err['msg']}") from None
    pfi = tuple(
        (p, glob_to_regex(p), frozenset(_expand(reg, codes, f"per-file-ignores '{p}'", where)))
        for p, codes in cfg.per_file_ignores.items()
    )
    return Resolved(cfg, frozenset(active), severity, options, pfi)
