"""AD101 columnar-design: the AttendNeXt paper's first design constraint."""

from __future__ import annotations

from pydantic import Field

from archdsl.diagnostics import Severity
from archdsl.ir import Graph
from archdsl.rules.base import Finding, Rule, RuleOptions
from archdsl.rules.context import GraphIndex, LintContext
from archdsl.rules.graphutil import is_grouped

WEIGHTED = frozenset({"conv", "linear", "mhsa"})


class Options(RuleOptions):
    min_columns: int = Field(default=2, ge=1)
    stage_min: dict[str, int] = Field(default_factory=dict)
    stem: list[str] | None = None
    skip: list[str] = Field(default_factory=list)
    count_grouped: bool = True


def stage_columns(idx: GraphIndex, stage: str, count_grouped: bool = True) -> tuple[int, str]:
    """The number of parallel columns of a stage, and what gives it (for the message)."""
    best, why = 1, "no parallel columns"
    prefix = stage + "."
    for s in idx.graph.scopes:
        if s.kind != "columns" or not (s.path == stage or s.path.startswith(prefix)):
            continue
        n = int(s.args.get("n") or 1)
        if s.args.get("split"):
            k, how = n, "columns(split = true)"
        elif s.args.get("join") in ("concat", "shuffle", "project"):
            # parallel feature columns: count the columns that compute something
            cols = [c for c in idx.scopes if c.startswith(s.path + ".") and c.count(".") == s.path.count(".") + 1]
            k = sum(
                1
                for c in cols
                if any(n.op in WEIGHTED for nid, n in idx.nodes.items() if nid.startswith(c + ".") or nid == c)
            )
            how = f'columns(join = "{s.args.get("join")}")'
        else:
            continue  # add/mul joins are residual or multi-branch blocks, not columns
        if k > best:
            best, why = k, f"{how} at {s.path}"
    if count_grouped:
        for nid, node in idx.nodes.items():
            if (nid == stage or nid.startswith(prefix)) and is_grouped(node, idx) and node.args.groups > best:
                best, why = node.args.groups, f"grouped conv (groups = {node.args.groups}) at {nid}"
    return best, why


class ColumnarDesign(Rule):
    """
    ## What it does
    Checks that every stage after the stem computes in parallel columns.

    What counts as columns: a `columns(n, ...)` whose columns each take a slice of the channels
    (`split = true`) or compute side by side and are joined by `concat`, `shuffle` or a 1×1
    `project`ion; or grouped convolutions (`groups ≥ 2`, not depthwise), which are columns that
    interact through the convolutions around them.

    A stage's column count is the largest such number inside it. `columns(join = "add")` (a
    residual connection or summed branches, as in `inverted_residual`, `bottleneck` and
    `mobileone`) is not counted, and neither are depthwise convolutions: neither splits the
    computation into independent columns. The stem (the stage named `stem`, else the net's first
    stage), the classifier head (a stage that pools globally or works on vectors) and stages
    without weights are not checked.

    ## Why is this bad?
    AttendNeXt's design constraint 1 (section 2.2): columnar designs with parallel columns
    "significantly reduce architectural and computational complexity". Splitting C channels into
    n columns divides the cost of every dense convolution in them by n. AttendNeXt uses four
    independent columns in stages 1–2 and grouped bottlenecks (4 interacting columns) in stages 3–4.

    ## Example
    ```arch
    import std

    net example {
        input image [3, 64, 64]
        stem = conv(16, k = 3) -> bn -> silu -> aads
        stage1 = conv_bn_act(32, act = "silu") * 2
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Use instead
    ```arch
    import std

    net example {
        input image [3, 64, 64]
        stem = conv(16, k = 3) -> bn -> silu -> aads
        stage1 = columns(4, split = true, join = "project", out = 32) {
                     conv_bn_act(8, act = "silu") * 2
                 }
        head = gap -> flatten -> linear(10)
    }
    ```

    ## Options
    - `min-columns` (integer, default 2): the fewest columns a stage may have.
    - `stage-min` (table of stage name → integer, default empty): a minimum for one stage,
      e.g. `stage-min = { stage1 = 4, stage2 = 4 }`.
    - `stem` (list of stage names, default: the stage named `stem`, else the first stage): stages
      that form the stem and are not checked.
    - `skip` (list of stage names, default empty): more stages not to check.
    - `count-grouped` (boolean, default true): count grouped convolutions as interacting columns.
    """

    code = "AD101"
    name = "columnar-design"
    severity = Severity.WARNING
    options = Options

    def check_graph(self, ctx: LintContext, graph: Graph, options: Options) -> list[Finding]:
        idx = ctx.index(graph)
        stages = list(graph.stages)
        if not stages:
            return []
        stem = options.stem if options.stem is not None else (["stem"] if "stem" in stages else stages[:1])
        out: list[Finding] = []
        for stage in stages:
            if stage in stem or stage in options.skip:
                continue
            nodes = [n for nid, n in idx.nodes.items() if nid == stage or nid.startswith(stage + ".")]
            if not nodes or not any(n.op in WEIGHTED for n in nodes):
                continue
            first_in = idx.in_type(nodes[0]) if nodes[0].inputs else None
            last = nodes[-1].out
            if first_in is None or first_in.layout != "chw" or first_in.h <= 1 or last.layout != "chw" or last.h <= 1:
                continue  # the classifier head: it pools globally or works on vectors
            want = options.stage_min.get(stage, options.min_columns)
            have, why = stage_columns(idx, stage, options.count_grouped)
            if have >= want:
                continue
            scope = next((s for s in idx.scopes.get(stage, ()) if s.kind == "stage"), None)
            span = ctx.name_span(scope.span, stage) if scope is not None and ctx.in_file(scope.span) else None
            if span is None:
                span, _ = ctx.locate(graph, nodes[0].id)
            col = "column" if have == 1 else "columns"
            out.append(
                self.finding(
                    f"stage '{stage}' computes in {have} {col}; the columnar design wants at least {want} "
                    f"parallel columns after the stem",
                    span,
                    help="split the stage into columns(n, split = true) { ... } joined by a 1×1 projection, "
                    "or use grouped convolutions (groups ≥ 2, not depthwise)",
                    notes=(f"largest parallelism found: {why}",) if have > 1 else (),
                    net=graph.name,
                )
            )
        return out
