"""Hostile input to ``archdsl bench`` / ``report`` / ``bench calibrate`` (issue 12, items 3, 11, 13).

Bad ``-O`` values (NaN, 1e308, negative, wrong type) are usage errors; calibration files and
results stores are not trusted (directories, devices, FIFOs, garbage, corrupt or foreign SQLite,
edited rows); a store locked past its timeout loses no measurement; every file these commands
write is written atomically. Never a traceback, never "internal error". The ssh target's device
side (runner left behind, malformed device output) is in tests/test_ssh_target.py.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import stat
from pathlib import Path

import pytest

import archdsl
from archdsl.analysis import machine_file as calibfile
from archdsl.analysis.a72 import A72
from archdsl.analysis.latency import predict
from archdsl.analysis.machine import Machine
from archdsl.bench.model import model_target
from archdsl.bench.session import Unsaved, run_bench, save_unsaved
from archdsl.bench.store import Store, StoreError
from archdsl.bench.target import BenchSettings, OptionError, TargetError, load
from tests.conftest import ROOT, run_cli

SPEC = ROOT / "specs" / "baselines" / "mobilenetv3_large_100.arch"
OFA = ROOT / "specs" / "baselines" / "ofa_62.arch"


def _clean(r, code: int) -> None:
    out = r.stdout + r.stderr
    assert r.returncode == code, out
    assert "Traceback" not in out and "internal error" not in out and "bug in archdsl" not in out, out
    assert "= help:" in r.stderr, r.stderr


# ---- -O options: every option of every built-in target -------------------------------------


@pytest.fixture
def known_hosts(tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text("")
    return str(path)


BAD_SSH = [
    ("connect_timeout", float("nan")),
    ("connect_timeout", 1e308),
    ("connect_timeout", float("inf")),
    ("connect_timeout", -1),
    ("connect_timeout", 0),
    ("connect_timeout", "soon"),
    ("connect_timeout", True),
    ("run_timeout", float("nan")),
    ("run_timeout", 1e308),
    ("run_timeout", -5.0),
    ("run_timeout", 0),
    ("port", 0),
    ("port", 65536),
    ("port", -22),
    ("port", 22.5),
    ("port", 10**30),
    ("opset", -3),
    ("opset", 10**12),
    ("opset", float("nan")),
    ("clock", "sundial"),
    ("remote_python", ""),
    ("ssh", ""),
    ("host", "-oProxyCommand"),
    ("host", "a b"),
    ("user", "root;id"),
    ("identity", "/nonexistent/key"),
    ("nosuch", 1),
]


@pytest.mark.parametrize(("key", "value"), BAD_SSH, ids=[f"{k}={v!r}" for k, v in BAD_SSH])
def test_bad_ssh_options_are_option_errors(key, value, known_hosts):
    opts = {"host": "device", "known_hosts": known_hosts, key: value}
    with pytest.raises(OptionError) as exc:
        load("ssh", opts)
    assert exc.value.hint, exc.value.message


BAD_HOST = [
    ("opset", -1),
    ("opset", float("inf")),
    ("opset", "17"),
    ("clock", "nan"),
    ("engine", "tensorflow"),
    ("engine", ""),
    ("deploy", 3),
    ("deploy", "yes"),
    ("enigne", "torch"),
]


@pytest.mark.parametrize(("key", "value"), BAD_HOST, ids=[f"{k}={v!r}" for k, v in BAD_HOST])
def test_bad_host_options_are_option_errors(key, value):
    pytest.importorskip("onnxruntime")
    with pytest.raises(OptionError) as exc:
        load("host", {key: value})
    assert exc.value.hint


def test_bad_a72_and_model_options_are_option_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no default calibration file here
    for name, opts in [("a72", {"x": 1}), ("model", {}), ("model", {"calibration": float("nan")})]:
        with pytest.raises(OptionError) as exc:
            load(name, opts)
        assert exc.value.hint
    with pytest.raises(TargetError, match="unknown target") as exc:  # exit 3: maybe a plugin not installed
        load("a27")
    assert not isinstance(exc.value, OptionError)


@pytest.mark.parametrize(
    "option",
    ["connect_timeout=NaN", "connect_timeout=1e308", "connect_timeout=-1", "run_timeout=Infinity", "port=1e10"],
)
def test_cli_bad_ssh_option_values_exit_2(option, known_hosts):
    r = run_cli("bench", str(SPEC), "--target", "ssh", "-O", "host=x", "-O", f"known_hosts={known_hosts}",
                "-O", option, "--no-store")  # fmt: skip
    _clean(r, 2)
    assert option.split("=")[0] in r.stderr


def test_cli_bad_threads_and_opset_exit_2_unknown_target_3():
    _clean(run_cli("bench", str(SPEC), "--target", "a72", "--threads", "9", "--no-store"), 2)
    _clean(run_cli("bench", str(SPEC), "--target", "a27", "--no-store"), 3)
    _clean(run_cli("bench", str(SPEC), "--target", "host", "-O", "opset=5", "--input-size", "32", "--no-store"), 2)


# ---- calibration files ----------------------------------------------------------------------


def _calibration(**changes) -> str:
    data = json.loads(A72.to_json())
    for key, value in changes.items():
        if value is _DROP:
            data.pop(key)
        else:
            data[key] = value
    return json.dumps(data)


_DROP = object()

BAD_CALIBRATIONS = {
    "not_json": "hello",
    "list": "[1, 2]",
    "nan": _calibration().replace('"peak_flops_core": 12000000000.0', '"peak_flops_core": NaN'),
    "huge_number": _calibration().replace('"dram_bw": 5000000000.0', '"dram_bw": 1e400'),
    "zero_bandwidth": _calibration(dram_bw=0),
    "negative_overhead": _calibration(op_overhead_s=-1e-6),
    "string_number": _calibration(peak_flops_core="fast"),
    "bool_cores": _calibration(cores=True),
    "too_many_threads": _calibration(default_threads=64),
    "missing_field": _calibration(cache_bytes=_DROP),
    "unknown_field": _calibration(turbo=True),
    "kinds_list": _calibration(kinds=[]),
    "kind_missing": _calibration(kinds={"conv_dense": {"compute_eff": 1.0}}),
    "kind_zero_eff": _calibration(kinds={**json.loads(A72.to_json())["kinds"], "conv_dw": {"compute_eff": 0}}),
    "control_chars": _calibration(label="ESTIMATE \x1b[2J\x1b]0;owned\x07"),
    "deep_calibration": _calibration(calibration=json.loads("[" * 100 + "]" * 100)),
    "wrong_format": _calibration(format="archdsl-latency-model/9"),
    "deep_json": "[" * 100_000 + "]" * 100_000,
    "fuses_unknown_op": _calibration(fused_acts=["relu", "reluu"]),
    "fuses_non_activation": _calibration(fused_acts=["conv"]),
}


@pytest.mark.parametrize("name", sorted(BAD_CALIBRATIONS))
def test_bad_calibration_contents_are_refused(name, tmp_path):
    path = tmp_path / "calib.json"
    path.write_text(BAD_CALIBRATIONS[name])
    with pytest.raises(OptionError, match="not a valid calibration file") as exc:
        model_target({"calibration": str(path)})
    assert exc.value.hint
    assert "\x1b" not in exc.value.message


def test_calibration_that_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(calibfile.MAX_BYTES + 1)  # sparse: costs nothing on disk
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00{")
    cases = {"/tmp": "directory", "/dev/zero": "character device", str(fifo): "FIFO", str(big): "above the limit"}
    cases[str(binary)] = "not UTF-8"
    cases[str(tmp_path / "missing.json")] = "not found"
    for path, words in cases.items():
        with pytest.raises(OptionError, match=words) as exc:
            model_target({"calibration": path})
        assert exc.value.hint


@pytest.mark.parametrize("path", ["/tmp", "/dev/zero"])
def test_cli_calibration_directory_or_device(path):
    r = run_cli("bench", str(SPEC), "--target", "model", "-O", f"calibration={path}", "--no-store", timeout=30)
    _clean(r, 2)


def test_valid_calibration_round_trips_and_predicts_the_same(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(A72.to_json())
    machine = Machine.load(path)
    assert machine == A72
    g = archdsl.load(SPEC)
    assert predict(g, machine, 4).seconds == predict(g, A72, 4).seconds


# ---- results store ----------------------------------------------------------------------------


def _bench(store: Path, *args: str, spec: Path = SPEC):
    return run_cli("bench", str(spec), "--target", "a72", "--store", str(store), "--quiet", *args)


def _sqlite_store(tmp_path: Path) -> Path:
    path = tmp_path / "results.sqlite"
    r = _bench(path)
    assert r.returncode == 0, r.stderr
    return path


def test_store_that_is_not_sqlite(tmp_path):
    store = tmp_path / "results.sqlite"
    store.write_text("these are my notes, not a database\n" * 100)
    r = _bench(store)
    _clean(r, 3)
    assert "not a database" in r.stderr
    assert store.read_text().startswith("these are my notes"), "the file must be left alone"
    r = run_cli("report", "--store", str(store), "-o", str(tmp_path / "rep"))
    _clean(r, 3)


def test_corrupt_store(tmp_path):
    store = _sqlite_store(tmp_path)
    data = store.read_bytes()
    store.write_bytes(data[:100] + b"\x00\xff" * 2000)  # a valid header, then garbage pages
    for r in (_bench(store), run_cli("report", "--store", str(store), "-o", str(tmp_path / "rep"))):
        _clean(r, 3)


def test_foreign_sqlite_database(tmp_path):
    store = tmp_path / "other.sqlite"
    db = sqlite3.connect(store)
    db.execute("CREATE TABLE contacts (name TEXT)")
    db.commit()
    db.close()
    r = _bench(store)
    _clean(r, 3)
    assert "not an archdsl results store" in r.stderr
    db = sqlite3.connect(store)
    assert db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == [("contacts",)]
    db.close()


def test_store_that_is_a_directory_or_a_device(tmp_path):
    _clean(_bench(tmp_path), 2)
    _clean(_bench(Path("/dev/null")), 2)
    fifo = tmp_path / "fifo.sqlite"
    os.mkfifo(fifo)
    _clean(_bench(fifo), 2)  # refused without opening it (sqlite would block on a FIFO)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_store_rows_edited_by_hand_are_reported_not_crashed(tmp_path):
    store = _sqlite_store(tmp_path)
    db = sqlite3.connect(store)
    db.execute("UPDATE runs SET settings = '{not json'")
    db.commit()
    db.close()
    r = run_cli("report", "--store", str(store), "-o", str(tmp_path / "rep"))
    _clean(r, 3)
    assert "is corrupt" in r.stderr


@pytest.mark.parametrize("value", ["0", "'fast'", "9e999"])
def test_store_values_that_cannot_be_plotted(tmp_path, value):
    pytest.importorskip("matplotlib")
    store = _sqlite_store(tmp_path)
    db = sqlite3.connect(store)
    db.execute(f"UPDATE runs SET median_s = {value}, throughput = {value}")
    db.commit()
    db.close()
    r = run_cli("report", "--store", str(store), "-o", str(tmp_path / "rep"))
    _clean(r, 3)


def test_store_locked_past_the_timeout_keeps_the_measurements(tmp_path):
    """Another writer holds the store: results are printed, kept in a JSON file, exit 3 (item 11)."""
    store = _sqlite_store(tmp_path)
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a write lock, held for the whole bench run
    try:
        r = run_cli("bench", str(SPEC), str(OFA), "--target", "a72", "--store", str(store), "--quiet",
                    "--store-timeout", "1", "--format", "json")  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _clean(r, 3)
    assert "stayed locked" in r.stderr
    printed = json.loads(r.stdout)  # the measurements are printed all the same
    assert [x["net"] for x in printed["results"]] == ["mobilenetv3_large_100", "ofa_62"]
    (kept,) = tmp_path.glob("results.sqlite.unsaved-*.json")
    assert str(kept) in r.stderr
    data = json.loads(kept.read_text())
    assert data["format"] == "archdsl-unsaved-results/1" and "stayed locked" in data["error"]
    assert [row["net"] for row in data["rows"]] == ["mobilenetv3_large_100", "ofa_62"]
    assert data["rows"][0]["median_s"] * 1e3 == pytest.approx(printed["results"][0]["median_ms"])
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"
    with Store(store) as st:  # nothing half-written; the store still works
        assert len(st.rows()) == 1


def test_run_bench_keeps_rows_the_store_refuses(tmp_path):
    class Failing(Store):
        def add(self, row):
            raise StoreError("disk full", "free some space")

    graphs = [(p, archdsl.load(p)) for p in (SPEC, OFA)]
    target = load("a72")
    with Failing(tmp_path / "r.sqlite") as store:
        with pytest.raises(StoreError, match="disk full"):
            run_bench(graphs, target, BenchSettings(), store)
        unsaved = Unsaved()
        session, results = run_bench(graphs, load("a72"), BenchSettings(), store, unsaved=unsaved)
    assert len(results) == 2 and all(r.row_id is None for r in results)
    assert unsaved.error.message == "disk full" and [r["net"] for r in unsaved.rows] == [
        "mobilenetv3_large_100",
        "ofa_62",
    ]
    path = save_unsaved(unsaved, tmp_path / "r.sqlite", session)
    assert path == tmp_path / f"r.sqlite.unsaved-{session}.json"
    assert json.loads(path.read_text())["rows"][1]["net"] == "ofa_62"


def test_store_opens_without_a_write_lock(tmp_path):
    """A store with the schema opens while another process writes (only add() waits)."""
    store = _sqlite_store(tmp_path)
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Store(store, timeout_s=0.5) as st:
            assert len(st.rows()) == 1
            with pytest.raises(StoreError, match="stayed locked") as exc:
                st.add(st.rows()[0] | {"id": None})
            assert exc.value.hint
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# ---- report -o and atomic artefacts ----------------------------------------------------------


def test_report_output_that_cannot_be_written(tmp_path):
    pytest.importorskip("matplotlib")
    store = _sqlite_store(tmp_path)
    r = run_cli("report", "--store", str(store), "-o", "/proc/nope")
    _clean(r, 3)
    assert "/proc/nope" in r.stderr
    afile = tmp_path / "a_file"
    afile.write_text("keep me")
    _clean(run_cli("report", "--store", str(store), "-o", str(afile)), 2)
    assert afile.read_text() == "keep me"
    ro = tmp_path / "readonly"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() != 0:  # root writes anywhere
        _clean(run_cli("report", "--store", str(store), "-o", str(ro)), 3)


def test_report_files_are_written_atomically(tmp_path, monkeypatch):
    """A failure while a figure is written leaves the previous figure whole and no temporary file."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from archdsl.bench.report import draw, select

    store = _sqlite_store(tmp_path)
    out = tmp_path / "report"
    with Store(store) as st:
        data = select(st, None, None, None)
    draw(data, out, ("svg",))
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken_savefig(self, fh, **kwargs):
        fh.write(b"<svg half-written")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError):
        draw(data, out, ("svg",))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_calibrate_output_checked_before_the_work(tmp_path):
    """-o is checked before 30 s of micro-benchmarks: a folder (2), an unwritable folder (3)."""
    r = run_cli("bench", "calibrate", "-o", str(tmp_path), timeout=60)
    _clean(r, 2)
    assert "folder" in r.stderr
    r = run_cli("bench", "calibrate", "-o", "/proc/nope/c.json", timeout=60)
    _clean(r, 3)
    assert "choose another path with -o" in r.stderr  # the early check's hint, not the late write's


def test_calibrate_writes_atomically(tmp_path, monkeypatch):
    """bench calibrate goes through atomic_write: a failed write leaves the old calibration intact."""
    from typer.testing import CliRunner

    from archdsl.bench import calibrate as cal
    from archdsl.cli import app

    monkeypatch.setattr(cal, "calibrate", lambda threads, progress=None: A72)  # no micro-benchmarks
    out = tmp_path / "calib.json"
    runner = CliRunner()
    r = runner.invoke(app, ["bench", "calibrate", "-o", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    assert Machine.from_json(out.read_text()) == A72
    out.write_text("previous calibration")

    def no_space(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    r = runner.invoke(app, ["bench", "calibrate", "-o", str(out), "--quiet"])
    assert r.exit_code == 3 and "No space left" in r.output
    assert out.read_text() == "previous calibration"
    assert [p.name for p in tmp_path.iterdir()] == ["calib.json"]


def test_unsaved_results_written_atomically(tmp_path, monkeypatch):
    unsaved = Unsaved(StoreError("locked"), [{"net": "n", "median_s": 0.1}])
    store = tmp_path / "r.sqlite"
    path = save_unsaved(unsaved, store, "abc")
    assert json.loads(path.read_text())["rows"] == [{"net": "n", "median_s": 0.1}]
    monkeypatch.chdir(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir()
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(5, "I/O error")))
    assert save_unsaved(unsaved, ro / "r.sqlite", "abc") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.sqlite.unsaved-abc.json", "ro"]


def test_target_returning_garbage_timings(tmp_path):
    """A third-party target's NaN or negative timing is a TargetError, not a crash in the statistics."""
    from archdsl.bench.target import Measurement, Prepared

    class Bad:
        name, summary, estimate, default_threads = "bad", "a broken target", False, 1

        def __init__(self, value):
            self.value = value

        def options(self):
            return {}

        def prepare(self, graph, settings, workdir):
            return Prepared(graph)

        def run(self, prepared, settings, progress=None):
            return Measurement([0.1, self.value], {}, 1)

        def close(self):
            pass

    g = archdsl.load(SPEC)
    for value in (math.nan, -1.0, math.inf, "0.1"):
        with pytest.raises(TargetError, match="not a finite number"):
            run_bench([(SPEC, g)], Bad(value), BenchSettings(runs=2), workdir=tmp_path)


def test_store_or_calibration_output_never_replaces_a_spec(tmp_path):
    spec = tmp_path / "net.arch"
    spec.write_bytes(SPEC.read_bytes())
    before = spec.read_bytes()
    r = run_cli("bench", str(spec), "--target", "a72", "--store", str(spec))
    _clean(r, 2)
    r = run_cli("bench", "calibrate", "-o", str(spec), str(spec), timeout=60)
    _clean(r, 2)
    assert "refusing to write" in r.stderr and spec.read_bytes() == before
    calib = tmp_path / "calib.json"
    calib.write_text(A72.to_json())
    r = run_cli("bench", str(spec), "--target", "model", "-O", f"calibration={calib}", "--store", str(calib))
    _clean(r, 2)
    assert Machine.from_json(calib.read_text()) == A72
