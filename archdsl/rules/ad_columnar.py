"""AD101 columnar-design: the AttendNeXt paper's first design constraint."""

from __future__ import annotations

from pydantic import Field

from archdsl.diagnostics import Severity
from archdsl.ir import Graph, Node, Scope
from archdsl.rules.base import Finding, Rule, RuleOptions
from archdsl.rules.context import GraphIndex, LintContext
from archdsl.rules.graphutil import is_grouped, is_layer


class Options(RuleOptions):
    min_columns: int = Field(default=2, ge=1)
    stage_min: dict[str, int] = Field(default_factory=dict)
    stem: list[str] | None = None
    skip: list[str] = Field(default_factory=list)
    count_grouped: bool = True


def _first(path: str) -> str:
    return path.split(".", 1)[0]


class _StageIndex:
    """What AD101 asks of a graph, indexed once: nodes and columns scopes by stage (a top-level
    statement, the first segment of a path), the child scopes of each scope, and which paths hold
    a weighted op. Stage by stage scans of the whole graph made the rule quadratic."""

    def __init__(self, idx: GraphIndex):
        self.nodes: dict[str, list[Node]] = {}
        self.weighted: set[str] = set()  # every path that is, or is above, a weighted op
        for nid, n in idx.nodes.items():
            self.nodes.setdefault(_first(nid), []).append(n)
            if is_layer(n):
                parts = nid.split(".")
                for i in range(len(parts), 0, -1):
                    prefix = ".".join(parts[:i])
                    if prefix in self.weighted:
                        break
                    self.weighted.add(prefix)
        self.columns: dict[str, list[Scope]] = {}
        for sc in idx.graph.scopes:
            if sc.kind == "columns":
                self.columns.setdefault(_first(sc.path), []).append(sc)
        self.children: dict[str, list[str]] = {}
        for path in idx.scopes:
            if "." in path:
                self.children.setdefault(path.rsplit(".", 1)[0], []).append(path)


def _stage_index(idx: GraphIndex) -> _StageIndex:
    return idx.memo("AD101", lambda: _StageIndex(idx))


def stage_columns(idx: GraphIndex, stage: str, count_grouped: bool = True) -> tuple[int, str]:
    """The number of parallel columns of a stage, and what gives it (for the message)."""
    best, why = 1, "no parallel columns"
    si = _stage_index(idx)
    for s in si.columns.get(stage, ()):
        n = int(s.args.get("n") or 1)
        if s.args.get("split"):
            k, how = n, "columns(split = true)"
        elif s.args.get("join") in ("concat", "shuffle", "project"):
            # parallel feature columns: count the columns that compute something
            k = sum(1 for c in si.children.get(s.path, ()) if c in si.weighted)
            how = f'columns(join = "{s.args.get("join")}")'
        else:
            continue  # add/mul joins are residual or multi-branch blocks, not columns
        if k > best:
            best, why = k, f"{how} at {s.path}"
    if count_grouped:
        for node in si.nodes.get(stage, ()):
            if is_grouped(node, idx) and node.args.groups > best:
                best, why = node.args.groups, f"grouped conv (groups = {node.args.groups}) at {node.id}"
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
        stem = set(options.stem if options.stem is not None else (["stem"] if "stem" in stages else stages[:1]))
        skip = set(options.skip)
        si = _stage_index(idx)
        out: list[Finding] = []
        for stage in stages:
            if stage in stem or stage in skip:
                continue
            nodes = si.nodes.get(stage, [])
            if not nodes or not any(is_layer(n) for n in nodes):
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
