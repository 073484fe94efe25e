"""AD104 accuracy-below-threshold and AD105 accuracy-unverified: the paper's fourth constraint.

The recorded ImageNet top-1 of a net comes from a results file (``results`` option: JSON or TOML,
``{"<net>": 76.1}`` or ``{"<net>": {"imagenet_top1": 76.1}}``), else from the spec's ``meta``. A
number measured by an evaluation run is more trustworthy than one written by hand, so the results
file wins when both have it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import Field

from archdsl.diagnostics import Severity, Span
from archdsl.fileio import InputError, read_input
from archdsl.ir import Graph
from archdsl.rules.base import Finding, Rule, RuleConfigError, RuleOptions
from archdsl.rules.context import LintContext
from archdsl.rules.tomlread import ConfigError, read_toml

OFA62_TOP1 = 75.8
#: the largest results file read (accuracies of nets by name)
MAX_RESULTS_BYTES = 16 << 20


class Options(RuleOptions):
    threshold: float = OFA62_TOP1
    key: str = "imagenet_top1"
    results: str | None = Field(default=None)


class ResultsError(RuleConfigError):
    pass


_RESULTS_CACHE: dict[tuple[Path, int], dict[str, Any]] = {}


def _load_results(path: Path) -> dict[str, Any]:
    try:
        key = (path.resolve(), path.stat().st_mtime_ns)
    except OSError:
        raise ResultsError(f"results file '{path}' not found") from None
    if key not in _RESULTS_CACHE:
        try:
            if path.suffix == ".toml":
                data = read_toml(path)
            else:
                data = json.loads(read_input(path, MAX_RESULTS_BYTES, str(path)).decode("utf-8"))
        except InputError as exc:
            raise ResultsError(f"cannot read results file: {exc.message}") from None
        except ConfigError as exc:
            raise ResultsError(f"results file: {exc}") from None
        except (ValueError, RecursionError) as exc:
            raise ResultsError(f"cannot read results file '{path}': {type(exc).__name__}: {exc}") from None
        if not isinstance(data, dict):
            raise ResultsError(f"results file '{path}' must map net names to accuracies")
        _RESULTS_CACHE[key] = data
    return _RESULTS_CACHE[key]


def recorded_top1(ctx: LintContext, graph: Graph, opts: Options) -> tuple[float, str, Span | None] | None:
    """(value, where it came from, span to point at), or None when nothing is recorded."""
    if opts.results:
        path = Path(opts.results)
        if not path.is_absolute():
            path = Path(ctx.settings.get("root", ".")) / path
        entry = _load_results(path).get(graph.name)
        if isinstance(entry, dict):
            entry = entry.get(opts.key)
        if isinstance(entry, (int, float)) and not isinstance(entry, bool):
            return float(entry), f"results file {opts.results}", ctx.net_span(graph.name)
    value = graph.meta.get(opts.key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        entry = ctx.meta_entry(graph.name, opts.key)
        span = entry.span if entry is not None and ctx.in_file(entry.span) else ctx.net_span(graph.name)
        return float(value), f"meta {opts.key}", span
    return None


class AccuracyBelowThreshold(Rule):
    """
    ## What it does
    Checks that a net's recorded ImageNet top-1 accuracy is at least 75.8% (OFA-62's).

    The threshold is an option. The number comes from the spec's `meta` (key
    `imagenet_top1`) or from a results file; a net with no recorded accuracy is AD105's business.

    ## Why is this bad?
    AttendNeXt's design constraint 4 enforces ImageNet top-1 above 75.8% so that the network
    performs at least as well as OFA-62, a compact network found by Once-For-All neural
    architecture search. A smaller or faster network that loses accuracy against that bar has
    not met the design goal.

    ## Example
    ```arch
    net example {
        input image [3, 224, 224]
        meta { imagenet_top1 = 75.2 }
        stem = conv(16, k = 3) -> bn -> relu
        head = gap -> flatten -> linear(1000)
    }
    ```

    ## Use instead
    ```arch
    net example {
        input image [3, 224, 224]
        meta { imagenet_top1 = 75.9 }
        stem = conv(16, k = 3) -> bn -> relu
        head = gap -> flatten -> linear(1000)
    }
    ```

    ## Options
    - `threshold` (number, default 75.8): the lowest acceptable top-1 accuracy, in percent.
    - `key` (string, default `"imagenet_top1"`): the `meta` key (and results-file key) to read.
    - `results` (path, default none): a JSON or TOML file of measured accuracies, by net name:
      `{"attendnext": 75.8}` or `{"attendnext": {"imagenet_top1": 75.8}}`; relative to the
      folder of the configuration file. It wins over `meta`.
    """

    code = "AD104"
    name = "accuracy-below-threshold"
    severity = Severity.ERROR
    options = Options

    def check_graph(self, ctx: LintContext, graph: Graph, options: Options) -> list[Finding]:
        rec = recorded_top1(ctx, graph, options)
        if rec is None:
            return []
        value, source, span = rec
        if value >= options.threshold:
            return []
        return [
            self.finding(
                f"net '{graph.name}' records ImageNet top-1 {value:g}% ({source}), below the "
                f"{options.threshold:g}% threshold",
                span,
                help=f"the design constraint asks for at least {options.threshold:g}% (OFA-62: {OFA62_TOP1}%)",
                net=graph.name,
            )
        ]


class AccuracyUnverified(Rule):
    """
    ## What it does
    Flags a net with no recorded ImageNet top-1 accuracy.

    Neither its `meta` nor the results file of AD104 has one, so the accuracy constraint (AD104)
    cannot be checked.

    ## Why is this bad?
    A design that meets the other constraints but was never evaluated has not met AttendNeXt's
    constraint 4; silence would read as a pass. Record the measured accuracy (and where it came
    from) next to the architecture.

    ## Example
    ```arch
    net example {
        input image [3, 224, 224]
        stem = conv(16, k = 3) -> bn -> relu
        head = gap -> flatten -> linear(1000)
    }
    ```

    ## Use instead
    ```arch
    net example {
        input image [3, 224, 224]
        meta {
            imagenet_top1 = 76.0
            imagenet_top1_source = "eval run 2024-05-01"
        }
        stem = conv(16, k = 3) -> bn -> relu
        head = gap -> flatten -> linear(1000)
    }
    ```

    ## Options
    None of its own: it reads AD104's `key` and `results`.
    """

    code = "AD105"
    name = "accuracy-unverified"
    severity = Severity.WARNING

    def check_graph(self, ctx: LintContext, graph: Graph, options: RuleOptions) -> list[Finding]:
        opts = ctx.options.get("AD104")
        if not isinstance(opts, Options):
            opts = Options()
        if recorded_top1(ctx, graph, opts) is not None:
            return []
        where = f"meta {{ {opts.key} = ... }}" + (f" or in {opts.results}" if opts.results else "")
        return [
            self.finding(
                f"net '{graph.name}' records no ImageNet top-1 accuracy: the accuracy constraint is unverified",
                ctx.net_span(graph.name),
                help=f"record the measured accuracy in {where}",
                net=graph.name,
            )
        ]
