"""The rule registry: one explicit table of built-in rules, plus rules from the ``archdsl.rules``
entry-point group.

The table below is the single code table of archdsl lint. A code is never reused: when a rule is
renamed or renumbered, its old code goes to :data:`REDIRECTS` (old → new) and keeps working in
``select``, ``ignore`` and ``noqa``. Compiler diagnostics use ``E1xx``–``E6xx`` and ``B0xx``; the
lint families below do not collide with them.

A third-party package adds rules the way it would add a backend::

    [project.entry-points."archdsl.rules"]
    mycompany = "mycompany_archlint:RULES"     # a Rule subclass, or a list/tuple of them

Third-party codes must use a family of their own (not AD, AR, AS or AQ); a duplicate code or
name is an error, never a silent override.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from archdsl.diagnostics import did_you_mean
from archdsl.rules import (
    ad_accuracy,
    ad_antialias,
    ad_columnar,
    ad_strided_pointwise,
    aq_noqa,
    ar_budgets,
    ar_channels,
    ar_dead_ops,
    ar_depthwise,
    ar_norms,
    ar_patchify,
    ar_pool_act,
    as_shadowing,
    as_unused,
)
from archdsl.rules.base import Rule, validate_rule

GROUP = "archdsl.rules"

FAMILIES: dict[str, str] = {
    "AD": "AttendNeXt design constraints, from the paper's section 2.2",
    "AR": "architecture hygiene (the IR graph)",
    "AS": "spec source hygiene (the text and its AST)",
    "AQ": "suppression comments",
}

#: The built-in rules, in code order. This table is the registry; nothing registers by import.
BUILTIN: tuple[type[Rule], ...] = (
    ad_columnar.ColumnarDesign,  # AD101
    ad_strided_pointwise.StridedPointwiseConv,  # AD102
    ad_antialias.AliasedDownsampling,  # AD103
    ad_accuracy.AccuracyBelowThreshold,  # AD104
    ad_accuracy.AccuracyUnverified,  # AD105
    ar_budgets.ParamBudget,  # AR201
    ar_budgets.MacBudget,  # AR202
    ar_channels.ChannelsNotDivisible,  # AR203
    ar_depthwise.ConsecutiveDepthwise,  # AR204
    ar_pool_act.ActivationAfterGlobalPool,  # AR205
    ar_norms.DuplicateNorm,  # AR206
    ar_dead_ops.DeadOps,  # AR207
    ar_norms.BiasBeforeBatchNorm,  # AR208
    ar_patchify.PaddedPatchifyConv,  # AR209
    as_unused.UnusedBlock,  # AS301
    as_unused.UnusedParameter,  # AS302
    as_shadowing.ShadowedName,  # AS303
    aq_noqa.UnusedNoqa,  # AQ001
)

#: Named rule selections. ``default`` is what runs when nothing is selected: the rules that hold
#: for well-known, good architectures (ResNet, MobileNet, EfficientNet, ConvNeXt, DenseNet report
#: nothing unless they have a real defect; tests/test_lint_presets.py). ``attendnext`` adds the
#: paper's design constraints (AD), which those architectures break by design; a project opts in
#: with ``preset = "attendnext"`` in ``[tool.archdsl.lint]``, a spec with ``meta { lint =
#: "attendnext" }`` or ``meta { family = "attendnext" }``, a run with ``--preset attendnext`` or
#: ``--select AD``. Each value is (selectors, selectors removed).
PRESETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "default": (("ALL",), ("AD",)),
    "attendnext": (("ALL",), ()),
}
PRESET_HELP: dict[str, str] = {
    "default": "every rule but the AttendNeXt design constraints (AD): what good architectures pass",
    "attendnext": "every rule, the AttendNeXt design constraints (AD) included",
}
#: ``meta { family = ... }`` values that turn a preset on for a spec (unless a selection is explicit)
FAMILY_PRESETS: dict[str, str] = {"attendnext": "attendnext"}

#: Codes that were renamed: old → new. Old codes keep working in select/ignore/noqa.
REDIRECTS: dict[str, str] = {}

#: Compiler diagnostic families (not lint rules; a spec with these does not compile).
COMPILER_CODES = ("E1", "E2", "E3", "E4", "E5", "E6", "B0")


class RegistryError(Exception):
    """A rule class is malformed, or two rules share a code or a name."""


@dataclass(frozen=True)
class Registry:
    rules: tuple[type[Rule], ...]

    @functools.cached_property
    def by_code(self) -> dict[str, type[Rule]]:
        return {r.code: r for r in self.rules}

    @functools.cached_property
    def by_name(self) -> dict[str, type[Rule]]:
        return {r.name: r for r in self.rules}

    def get(self, key: str) -> type[Rule] | None:
        """A rule by code (old codes redirect) or by name."""
        key = REDIRECTS.get(key, key)
        return self.by_code.get(key) or self.by_name.get(key)

    def expand(self, selector: str) -> list[type[Rule]]:
        """Rules matched by a selector: ``ALL``, a code, a code prefix (``AD``, ``AD1``) or a name."""
        if selector == "ALL":
            return list(self.rules)
        rule = self.get(selector)
        if rule is not None:
            return [rule]
        return [r for r in self.rules if r.code.startswith(selector)] if selector.isupper() else []

    def preset(self, name: str) -> set[str] | None:
        """The codes a preset selects, or None for an unknown preset."""
        if name not in PRESETS:
            return None
        add, drop = PRESETS[name]
        codes = {r.code for s in add for r in self.expand(s)}
        return codes - {r.code for s in drop for r in self.expand(s)}

    def suggestion(self, selector: str) -> str | None:
        return did_you_mean(selector, set(self.by_code) | set(self.by_name) | set(FAMILIES))


def _entry_point_rules(ep: EntryPoint) -> list[type[Rule]]:
    obj = ep.load()
    items = list(obj) if isinstance(obj, (list, tuple)) else [obj]
    origin = f"{ep.dist.name if ep.dist else ep.value} (entry point '{ep.name}')"
    out = []
    for cls in items:
        if isinstance(cls, type) and issubclass(cls, Rule):
            cls.origin = origin
        out.append(cls)
    return out


def build_registry(extra: Iterable[type[Rule]] = ()) -> Registry:
    """Validate the built-ins plus ``extra`` rules; duplicates and malformed rules raise."""
    rules: list[type[Rule]] = []
    codes: dict[str, str] = {}
    names: dict[str, str] = {}
    problems: list[str] = []
    builtin = set(BUILTIN)
    for cls in [*BUILTIN, *extra]:
        bad = validate_rule(cls)
        if bad:
            problems.extend(bad)
            continue
        where = cls.origin
        if cls not in builtin and cls.code[:2] in FAMILIES:
            problems.append(f"{cls.code} ({where}): the family {cls.code[:2]} is reserved for built-in rules")
            continue
        if cls.code in codes or cls.code in REDIRECTS:
            problems.append(
                f"{cls.code} ({where}): the code is already used by {codes.get(cls.code, 'a renamed rule')}"
            )
            continue
        if cls.name in names:
            problems.append(f"{cls.code} ({where}): the name '{cls.name}' is already used by {names[cls.name]}")
            continue
        codes[cls.code] = f"{cls.code} {cls.name} ({where})"
        names[cls.name] = f"{cls.code} ({where})"
        rules.append(cls)
    if problems:
        raise RegistryError("invalid lint rules:\n  " + "\n  ".join(problems))
    return Registry(tuple(sorted(rules, key=lambda r: r.code)))


def discover(eps: Iterable[EntryPoint] | None = None) -> Registry:
    """The built-in rules plus those published under the ``archdsl.rules`` entry-point group."""
    extra: list[type[Rule]] = []
    for ep in entry_points(group=GROUP) if eps is None else eps:
        try:
            extra.extend(_entry_point_rules(ep))
        except Exception as exc:  # a broken plugin is a tool failure, named
            raise RegistryError(f"cannot load lint rules from entry point '{ep.name}' ({ep.value}): {exc}") from exc
    return build_registry(extra)


@functools.lru_cache(maxsize=1)
def default_registry() -> Registry:
    return discover()
