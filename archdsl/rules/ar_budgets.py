"""AR201 param-budget and AR202 mac-budget: size limits from the spec's meta or the config."""

from __future__ import annotations

from pydantic import Field

from archdsl.diagnostics import Severity
from archdsl.ir import Graph
from archdsl.rules.base import Finding, Rule, RuleOptions
from archdsl.rules.context import LintContext


class ParamOptions(RuleOptions):
    max_params: int | None = Field(default=None, ge=0)
    meta_key: str = "max_params"


class MacOptions(RuleOptions):
    max_macs: int | None = Field(default=None, ge=0)
    meta_key: str = "max_macs"


def _fmt(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(int(n))


def _budget(ctx: LintContext, graph: Graph, from_config: int | None, meta_key: str, what: str, total: int, rule):
    budgets = []
    value = graph.meta.get(meta_key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        entry = ctx.meta_entry(graph.name, meta_key)
        span = entry.span if entry is not None and ctx.in_file(entry.span) else ctx.net_span(graph.name)
        budgets.append((value, f"meta {meta_key}", span))
    if from_config is not None:
        budgets.append((from_config, "the lint configuration", ctx.net_span(graph.name)))
    if not budgets:
        return []
    limit, source, span = min(budgets, key=lambda b: b[0])
    if total <= limit:
        return []
    over = total - limit
    return [
        rule.finding(
            f"net '{graph.name}' has {total:,} {what} ({_fmt(total)}), {over:,} over the budget of "
            f"{int(limit):,} ({_fmt(limit)}) set by {source}",
            span,
            help=f"`archdsl show {ctx.file} --depth 2` shows where the {what} are",
            net=graph.name,
        )
    ]


class ParamBudget(Rule):
    """
    ## What it does
    Checks a net's parameter count against a budget.

    The budget is `max_params` in the spec's `meta`, or the `max-params` option. When both are
    set, the smaller one applies.

    ## Why is this bad?
    Edge targets have a fixed memory budget, and AttendNeXt's design goal is a size (about 3.9M
    parameters, > 1.37× smaller than MobileNetV3-L). Widths and depths drift while a design is
    edited; a budget in the spec catches the drift at review time instead of at deployment.

    ## Example
    ```arch
    net example {
        input image [3, 32, 32]
        meta { max_params = 1000 }
        stem = conv(32, k = 3) -> bn -> relu
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    net example {
        input image [3, 32, 32]
        meta { max_params = 2000 }
        stem = conv(32, k = 3) -> bn -> relu
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Options
    - `max-params` (integer, default none): a budget for every net linted with this configuration.
    - `meta-key` (string, default `"max_params"`): the `meta` key that holds a net's own budget.
    """

    code = "AR201"
    name = "param-budget"
    severity = Severity.ERROR
    options = ParamOptions

    def check_graph(self, ctx: LintContext, graph: Graph, options: ParamOptions) -> list[Finding]:
        return _budget(ctx, graph, options.max_params, options.meta_key, "parameters", graph.total_params, self)


class MacBudget(Rule):
    """
    ## What it does
    Checks a net's multiply-accumulate (MAC) count against a budget.

    MACs are counted as `archdsl show` counts them (the torchinfo convention). The budget is
    `max_macs` in the spec's `meta`, or the `max-macs` option.
    When both are set, the smaller one applies.

    ## Why is this bad?
    MACs bound the latency on compute-bound edge processors (a Cortex-A72 core peaks at about
    12 GFLOP/s). A compute budget in the spec keeps a design inside its latency target while
    it is edited.

    ## Example
    ```arch
    net example {
        input image [3, 32, 32]
        meta { max_macs = 100000 }
        stem = conv(32, k = 3) -> bn -> relu
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    net example {
        input image [3, 32, 32]
        meta { max_macs = 1000000 }
        stem = conv(32, k = 3) -> bn -> relu
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Options
    - `max-macs` (integer, default none): a budget for every net linted with this configuration.
    - `meta-key` (string, default `"max_macs"`): the `meta` key that holds a net's own budget.
    """

    code = "AR202"
    name = "mac-budget"
    severity = Severity.ERROR
    options = MacOptions

    def check_graph(self, ctx: LintContext, graph: Graph, options: MacOptions) -> list[Finding]:
        return _budget(ctx, graph, options.max_macs, options.meta_key, "MACs", graph.total_macs, self)
