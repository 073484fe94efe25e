"""``archdsl.explore``: objectives, constraints (lint rules, budgets, points that do not resolve),
seeded determinism, NetScore, Pareto fronts without infeasible trials."""

from __future__ import annotations

import math
import sqlite3

import pytest

pytest.importorskip("optuna")

import archdsl
from archdsl.explore import Constraints, ExploreError, netscore
from archdsl.explore.objectives import parse_objective, parse_objectives
from archdsl.explore.storage import parse_storage
from tests.conftest import ROOT

TINY = ROOT / "tests" / "fixtures" / "explore" / "tiny_search.arch"


def _run_points(tmp_path, points, objectives=("params",), **kw):
    """Run exactly ``points`` (enqueued, in order) through the engine; the ExploreResult."""
    from archdsl.explore import configure, finish
    from archdsl.explore.runner import open_study, run_trials
    from archdsl.explore.storage import open_storage

    cfg, loaded = configure(TINY, objectives=list(objectives), storage=f"sqlite:///{tmp_path / 's.db'}", seed=0, **kw)
    study = open_study(cfg, open_storage(cfg.storage), cfg.parsed_objectives())
    for p in points:
        study.enqueue_trial(p)
    run_trials(cfg, len(points), None)
    return finish(cfg, loaded, False)


BASE = {"width": 8, "k": 3, "kd": 3, "blocks": 1, "act": "silu"}


def test_a_point_violating_ad102_is_infeasible_and_not_pareto(tmp_path):
    bad = {**BASE, "kd": 1}  # point-wise strided convolution: fewer params, so it would win
    r = _run_points(tmp_path, [BASE, bad])
    good_row, bad_row = r.trials
    assert good_row.feasible and not bad_row.feasible
    assert bad_row.values[0] < good_row.values[0]  # it is better on the objective ...
    assert [t.number for t in r.pareto] == [0]  # ... and still never reported as best
    assert any("AD102" in v for v in bad_row.violations)
    with sqlite3.connect(tmp_path / "s.db") as db:
        rows = db.execute(
            "select t.number, a.key, a.value_json from trial_system_attributes a join trials t using (trial_id)"
            " where a.key like 'constraints:%' order by t.number, a.key"
        ).fetchall()
    cons = {(n, k): float(v) for n, k, v in rows}
    assert cons[(1, "constraints:rule:AD102")] > 0 and cons[(0, "constraints:rule:AD102")] == 0


def test_a_point_that_does_not_resolve_is_recorded_with_its_diagnostic(tmp_path):
    r = _run_points(tmp_path, [{**BASE, "k": 0}, BASE])
    broken = r.trials[0]
    assert broken.state == "COMPLETE" and not broken.feasible
    assert "E321" in broken.error and "tiny_search.arch" in broken.error
    assert broken.values == [math.inf]
    assert [t.number for t in r.pareto] == [1]
    assert r.to_json()["pareto"][0]["values"] == [r.pareto[0].values[0]]


def test_budgets_from_meta_and_the_cli_wins(tmp_path):
    wide = {**BASE, "width": 24, "blocks": 3}
    r = _run_points(tmp_path, [BASE, wide], budgets={"max_params": 8000})
    assert r.constraints["max_params"] == 8000  # the space's meta says 1,000,000
    params = [t.metrics["params"] for t in r.trials]
    assert params[0] <= 8000 < params[1]
    assert [t.feasible for t in r.trials] == [True, False]
    assert any("above the budget" in v for v in r.trials[1].violations)


def test_lint_constraints_from_the_command_line_replace_the_meta():
    c = Constraints.from_meta({"constraint": "AD102", "max_params": 10, "min_macs": 5.0, "other": 1})
    assert c.rules == ("AD102",) and c.max_params == 10 and c.min_macs == 5
    assert c.override(rules=("AD101", "AD103"), max_params=None).rules == ("AD101", "AD103")
    assert c.override(max_params=None).max_params == 10


def test_same_seed_same_trials_on_fresh_sqlite(tmp_path):
    runs = []
    for i in range(2):
        r = archdsl.explore(
            TINY, objectives=["params", "a72_latency"], trials=12, seed=7, storage=f"sqlite:///{tmp_path / f'{i}.db'}"
        )
        runs.append([(t.number, t.point, t.values) for t in r.trials])
    assert runs[0] == runs[1]
    other = archdsl.explore(
        TINY, objectives=["params", "a72_latency"], trials=12, seed=8, storage=f"sqlite:///{tmp_path / 'x.db'}"
    )
    assert [t.point for t in other.trials] != [p for _, p, _ in runs[0]]


def test_resuming_continues_the_trial_numbers_and_does_not_replay_points(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = archdsl.explore(TINY, objectives=["params"], trials=4, seed=3, storage=url, sampler="random")
    second = archdsl.explore(TINY, objectives=["params"], trials=4, seed=3, storage=url, sampler="random")
    assert [t.number for t in second.trials] == list(range(8))
    assert [t.point for t in second.trials[4:]] != [t.point for t in first.trials]


def test_nsga2_multi_objective_front_is_feasible_and_non_dominated(tmp_path):
    r = archdsl.explore(
        TINY,
        objectives=["params", "a72_latency"],
        trials=16,
        seed=1,
        sampler="nsga2",
        population=4,
        storage=f"sqlite:///{tmp_path / 's.db'}",
    )
    assert r.pareto and all(t.feasible for t in r.pareto)
    feasible = [t for t in r.trials if t.feasible]
    for p in r.pareto:
        assert not any(
            q.values[0] <= p.values[0] and q.values[1] <= p.values[1] and q.values != p.values for q in feasible
        )


def test_netscore_matches_the_definition():
    # Ω = 20·log10(a² / (√p · √m)), p and m in millions: a = 75 %, p = 4M, m = 400M → 20·log10(5625/40)
    assert netscore(75.0, 4_000_000, 400_000_000) == pytest.approx(20 * math.log10(5625 / 40))
    assert netscore(0.0, 1, 1) is None and netscore(50.0, 0, 10) is None


def test_objective_names_and_directions():
    assert parse_objective("params").direction == "minimize"
    assert parse_objective("throughput").key == "a72_throughput"
    assert parse_objective("a72_throughput").direction == "maximize"
    assert parse_objective("macs:max").direction == "maximize"
    assert [o.key for o in parse_objectives(["a72_latency,params", "macs"])] == ["a72_latency", "params", "macs"]
    with pytest.raises(ExploreError) as e:
        parse_objective("parms")
    assert "did you mean 'params'" in e.value.help
    with pytest.raises(ExploreError):
        parse_objective("params:sideways")
    with pytest.raises(ExploreError):
        parse_objectives(["params", "params:max"])


@pytest.mark.parametrize(
    "text,kind",
    [
        ("sqlite:///x/y.db", "sqlite"),
        ("runs.db", "sqlite"),
        ("journal:/tmp/j.log", "journal"),
        ("postgresql://me@localhost:5432/db", "postgresql"),
        ("postgres://me:secret@h/db", "postgresql"),
    ],
)
def test_storage_forms(text, kind):
    spec = parse_storage(text)
    assert spec.kind == kind
    assert "secret" not in spec.text


@pytest.mark.parametrize("text", ["", "mysql://h/db", "journal:", "sqlite:///", "postgresql://h:notaport/db", "x.txt"])
def test_bad_storage_is_a_usage_error(text):
    with pytest.raises(ExploreError) as e:
        parse_storage(text)
    assert e.value.exit_code == 2 and e.value.help


def test_journal_storage_runs_and_shows(tmp_path):
    url = f"journal:{tmp_path / 'j.log'}"
    r = archdsl.explore(TINY, objectives=["params"], trials=3, seed=0, storage=url)
    from archdsl.explore import show

    s = show("tiny_search", url)
    assert [t.number for t in s.trials] == [0, 1, 2] and s.pareto[0].number == r.pareto[0].number


def test_archdsl_explore_is_callable_before_and_after_the_subpackage_is_imported():
    import subprocess
    import sys

    code = (
        "import sys, types, archdsl\n"
        "assert isinstance(archdsl.explore, types.FunctionType)\n"
        "import archdsl.explore\n"
        "assert isinstance(archdsl.explore, types.ModuleType) and callable(archdsl.explore)\n"
        "assert 'optuna' not in sys.modules  # imported only when a study runs\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr


def test_a_proxy_objective_on_a_space_sees_the_point_at_its_reduced_resolution(tmp_path):
    """The net in one file, the space in another (as specs/spaces/ are): the evaluator cannot
    re-resolve such a point from the net's file (B507); the space resolves it at 32x32 instead."""
    pytest.importorskip("torch")
    text = TINY.read_text().replace("[3, 32, 32]", "[3, 64, 64]")
    cut = text.index("space tiny_search")
    (tmp_path / "big.arch").write_text(text[:cut])
    space = tmp_path / "big_search.arch"
    space.write_text('import "big.arch"\n\n' + text[cut:].replace("space tiny_search", "space big_search"))
    r = archdsl.explore(
        space,
        objectives=["naswot", "params"],
        trials=2,
        seed=0,
        storage=f"sqlite:///{tmp_path / 's.db'}",
        evaluator_options={"batch": 4},
    )
    assert all(t.error is None or "E321" in t.error for t in r.trials), [t.error for t in r.trials]
    scored = [t for t in r.trials if "score/naswot" in t.metrics]
    assert scored and all(math.isfinite(t.metrics["score/naswot"]) for t in scored)
    assert r.objectives[0].proxy and r.to_json()["objectives"][0]["proxy"] is True
