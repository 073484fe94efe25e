"""Lint configuration: ``[tool.archdsl.lint]`` in the nearest ``pyproject.toml``, or ``--config``.

::

    [tool.archdsl.lint]
    preset = "default"                # a named selection: "default" (all but AD) or "attendnext" (all)
    select = ["ALL"]                  # instead of the preset: codes, prefixes ("AD", "AR2"), rule names, "ALL"
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

The files are read by :mod:`archdsl.rules.tomlread` (bounded, located errors); globs are matched
in linear time by :mod:`archdsl.rules.globmatch`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from archdsl.diagnostics import Severity, did_you_mean
from archdsl.rules.base import RuleOptions
from archdsl.rules.globmatch import MAX_GLOB_CHARS, Glob
from archdsl.rules.registry import Registry
from archdsl.rules.tomlread import CONFIG_HELP, ConfigError, read_toml

__all__ = [
    "FAIL_ON",
    "MAX_PER_FILE_IGNORES",
    "ConfigError",
    "ConfigFinder",
    "LintConfig",
    "Resolved",
    "from_table",
    "load_file",
    "resolve",
]

KEYS = ("preset", "select", "extend-select", "ignore", "fail-on", "severity", "per-file-ignores", "rules")
FAIL_ON = ("error", "warning", "info", "never")
#: most entries of per-file-ignores (each file is matched against every glob)
MAX_PER_FILE_IGNORES = 1024


@dataclass
class LintConfig:
    #: None: the preset's selection (a spec's ``meta { lint = ... }`` or family may then choose another)
    select: tuple[str, ...] | None = None
    preset: str = "default"
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
    if "preset" in table:
        from archdsl.rules.registry import PRESETS

        if table["preset"] not in PRESETS:
            hint = did_you_mean(str(table["preset"]), set(PRESETS))
            raise ConfigError(
                f"{where}: 'preset' must be one of {', '.join(PRESETS)}, got {table['preset']!r}"
                + (f"; {hint}" if hint else "")
            )
        cfg.preset = table["preset"]
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
    if len(pfi) > MAX_PER_FILE_IGNORES:
        raise ConfigError(
            f"{where}: 'per-file-ignores' has {len(pfi):,} entries, above the limit of {MAX_PER_FILE_IGNORES:,}",
            help="merge globs (** spans folders)",
        )
    for k in pfi:
        if len(k) > MAX_GLOB_CHARS:
            raise ConfigError(
                f"{where}: a per-file-ignores glob of {len(k):,} characters, above the limit of "
                f"{MAX_GLOB_CHARS:,}: '{k[:40]}…'",
                help="a glob is a relative path (** spans folders)",
            )
    cfg.per_file_ignores = {k: _strings(v, f"per-file-ignores.{k}", where) for k, v in pfi.items()}
    rules = table.get("rules", {})
    if not isinstance(rules, dict) or not all(isinstance(v, dict) for v in rules.values()):
        raise ConfigError(
            f"{where}: 'rules' must hold one table of options per rule, e.g. [tool.archdsl.lint.rules.AD101]"
        )
    cfg.rule_options = dict(rules)
    return cfg


def _archdsl_table(data: dict[str, Any]) -> Any:
    tool = data.get("tool")
    return tool.get("archdsl") if isinstance(tool, dict) else None


def load_file(path: Path) -> LintConfig:
    """Read a config file named with --config."""
    data = read_toml(path)
    ours = _archdsl_table(data)
    lint = ours.get("lint") if isinstance(ours, dict) else None
    table = lint if isinstance(lint, dict) else data
    return from_table(table, path.resolve().parent, path)


class ConfigFinder:
    """Finds the nearest pyproject.toml with a ``[tool.archdsl]`` table, reading each file once.

    The answer is remembered for every folder walked through, so linting many files in many
    folders reads and parses each pyproject.toml once, not once per folder below it.
    """

    def __init__(self) -> None:
        self._found: dict[Path, Path | None] = {}
        self._data: dict[Path, dict[str, Any]] = {}

    def data(self, path: Path) -> dict[str, Any]:
        if path not in self._data:
            self._data[path] = read_toml(path)
        return self._data[path]

    def find(self, start: Path) -> Path | None:
        d = start.resolve()
        if d.is_file():
            d = d.parent
        walked: list[Path] = []
        found: Path | None = None
        for folder in (d, *d.parents):
            if folder in self._found:
                found = self._found[folder]
                break
            walked.append(folder)
            cand = folder / "pyproject.toml"
            if cand.is_file() and isinstance(_archdsl_table(self.data(cand)), dict):
                found = cand
                break
        for folder in walked:
            self._found[folder] = found
        return found

    def load(self, path: Path) -> LintConfig:
        ours = _archdsl_table(self.data(path))
        table = ours.get("lint", {}) if isinstance(ours, dict) else {}
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [tool.archdsl.lint] must be a table", help=CONFIG_HELP)
        return from_table(table, path.resolve().parent, path)


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml upward from ``start`` that has a [tool.archdsl] table."""
    return ConfigFinder().find(start)


def load_pyproject(path: Path) -> LintConfig:
    return ConfigFinder().load(path)


# ---- resolving the configuration against the registry ---------------------------------------


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
    per_file_ignores: tuple[tuple[str, Glob, frozenset[str]], ...] = ()
    #: preset name -> its active codes (extend-select and ignore applied); empty when select is explicit
    presets: dict[str, frozenset[str]] = field(default_factory=dict)

    def codes_for(self, file: Path, preset: str | None = None) -> frozenset[str]:
        """The active codes for one file, after per-file ignores. ``preset``: the one the spec asks
        for (``meta { lint = ... }`` or its family), used unless the selection is explicit."""
        active = self.presets.get(preset, self.active) if preset is not None else self.active
        key = relative_key(file, self.config.root)
        name = file.name
        drop: set[str] = set()
        for glob, pattern, codes in self.per_file_ignores:
            if pattern.match(key) or ("/" not in glob and pattern.match(name)):
                drop |= codes
        return active - drop


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
    from archdsl.rules.registry import PRESETS

    where = cfg.where()
    extend = _expand(reg, cfg.extend_select, "extend-select", where)
    ignored = _expand(reg, cfg.ignore, "ignore", where)
    if cfg.select is not None:
        active = _expand(reg, cfg.select, "select", where) | extend
        presets: dict[str, frozenset[str]] = {}
    else:
        presets = {name: frozenset(((reg.preset(name) or set()) | extend) - ignored) for name in PRESETS}
        active = set(presets[cfg.preset])
    active -= ignored
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
        (p, Glob.compile(p), frozenset(_expand(reg, codes, f"per-file-ignores '{p}'", where)))
        for p, codes in cfg.per_file_ignores.items()
    )
    return Resolved(cfg, frozenset(active), severity, options, pfi, presets)
