"""``archdsl report``: the four figures, drawn from what the results store holds."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from archdsl.bench.store import Store
from tests.conftest import ROOT, run_cli

pytest.importorskip("matplotlib")
pytest.importorskip("onnxruntime")

SPECS = [ROOT / "specs" / "baselines" / f"{n}.arch" for n in ("mobilenetv3_large_100", "ofa_62", "fbnetc_100")]
FIGS = ("fig2_accuracy", "fig3a_throughput", "fig3b_size", "accuracy_latency")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "results.sqlite"
    common = ["--store", str(path), "--quiet"]
    r = run_cli("bench", *map(str, SPECS), "--target", "a72", *common)
    assert r.returncode == 0, r.stderr
    r = run_cli(
        "bench", *map(str, SPECS), "--target", "host", "--input-size", "32", "--runs", "3", "--warmup", "1", *common
    )
    assert r.returncode == 0, r.stderr
    return path


def test_report_writes_the_four_figures_from_stored_data(store, tmp_path):
    out = tmp_path / "report"
    r = run_cli("report", "--store", str(store), "--target", "a72", "--baseline", "fbnetc_100", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "ESTIMATES" in r.stderr
    for name in FIGS:
        png, svg = out / f"{name}.png", out / f"{name}.svg"
        assert png.read_bytes().startswith(PNG)
        root = ET.parse(svg).getroot()
        assert root.tag.endswith("svg")
        assert f"wrote {png}" in r.stdout
    data = json.loads((out / "report_data.json").read_text())
    assert data["target"] == "a72" and data["estimate"] is True and data["baseline"] == "fbnetc_100"
    with Store(store) as st:
        rows = {row["id"]: row for row in st.rows("a72")}
    plotted = {d["net"]: d for d in data["rows"]}
    assert set(plotted) == {"mobilenetv3_large_100", "ofa_62", "fbnetc_100"}
    for d in data["rows"]:
        row = rows[d["row_id"]]  # every plotted value names the stored row it came from
        assert d["median_ms"] == pytest.approx(row["median_s"] * 1e3)
        assert d["params"] == row["total_params"]
        assert d["imagenet_top1"] == row["meta"]["imagenet_top1"]
        base = plotted["fbnetc_100"]["throughput"]
        assert d["relative_throughput"] == pytest.approx(row["throughput"] / base)
    assert plotted["fbnetc_100"]["relative_throughput"] == 1.0
    assert (out / "report_data.csv").read_text().splitlines()[0].startswith("net,row_id")
    # the plotted numbers are the SVG's text (Figure 3a annotates each bar with its value)
    svg_text = (out / "fig3a_throughput.svg").read_text()
    for d in data["rows"]:
        assert f"{d['relative_throughput']:.2f}x" in svg_text and d["net"] in svg_text


def test_report_of_measured_results_and_format_choice(store, tmp_path):
    out = tmp_path / "host"
    r = run_cli("report", "--store", str(store), "--target", "host", "-o", str(out), "--format", "svg")
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.glob("*.svg")) == sorted(f"{n}.svg" for n in FIGS)
    assert not list(out.glob("*.png"))
    data = json.loads((out / "report_data.json").read_text())
    assert data["estimate"] is False and data["baseline"] is None and data["threads"] == 1


def test_report_picks_the_newest_run_per_net(store, tmp_path):
    r = run_cli("bench", str(SPECS[0]), "--target", "a72", "--threads", "4", "--store", str(store), "--quiet")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "newest"
    r = run_cli("report", "--store", str(store), "--target", "a72", "-o", str(out), "-f", "png")
    assert r.returncode == 0, r.stderr
    data = json.loads((out / "report_data.json").read_text())
    with Store(store) as st:
        newest = max(row["id"] for row in st.rows("a72") if row["net"] == "mobilenetv3_large_100")
    assert {d["net"]: d["row_id"] for d in data["rows"]}["mobilenetv3_large_100"] == newest


def test_report_errors(store, tmp_path):
    r = run_cli("report", "--store", str(tmp_path / "none.sqlite"))
    assert r.returncode == 3 and "no results store" in r.stderr
    r = run_cli("report", "--store", str(store), "--target", "ssh")
    assert r.returncode == 3 and "no results for target 'ssh'" in r.stderr and "a72" in r.stderr
    r = run_cli("report", "--store", str(store), "--target", "a72", "--baseline", "resnet18")
    assert r.returncode == 3 and "baseline 'resnet18'" in r.stderr
    r = run_cli("report", "--store", str(store), "--format", "gif")
    assert r.returncode == 2
