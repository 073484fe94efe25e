"""Generated hostile cases for ``archdsl bench`` / ``report``: stores, calibration files, outputs.

Each case writes a tiny spec (``net.arch``) and the hostile file into its temporary folder:
results stores that are garbage, corrupt, another program's database, a FIFO, or hold rows
edited by hand; calibration files that are huge, FIFOs, binary, NaN-laden or nesting bombs;
report folders that cannot be written. The ssh cases need a running sshd and live in
tests/test_ssh_target.py instead.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from tests.hostile.harness import case

SPEC = "net tiny {\n    input x [3, 32, 32]\n    y = conv(8) -> relu -> gap -> flatten -> linear(10)\n}\n"
BENCH = "bench {file:net.arch} --target a72 --quiet --store {file:results.sqlite}"
MODEL = "bench {file:net.arch} --target model --no-store -O calibration={file:calib.json}"
REPORT = "report --store {file:results.sqlite} -o {file:report}"


def _spec(tmp: Path) -> None:
    (tmp / "net.arch").write_text(SPEC)


def _row(i: int, **extra) -> dict:
    return {
        "session": "s",
        "spec_path": f"n{i}.arch",
        "net": f"n{i}",
        "spec_hash": f"hash{i}",
        "params": {},
        "input_shape": [[3, 32, 32]],
        "target": "a72",
        "estimate": True,
        "settings": {"warmup": 0, "runs": 1, "threads": 4, "batch": 1, "seed": 0, "options": {}},
        "versions": {"archdsl": "0"},
        "env": {"device": "a72"},
        "timings": [0.01],
        "median_s": 0.01,
        "p90_s": 0.01,
        "p99_s": 0.01,
        "std_s": 0.0,
        "throughput": 100.0,
        "total_params": 10,
        "total_macs": 20,
        "meta": {"imagenet_top1": 70.0},
        **extra,
    }


def _store(tmp: Path, rows: int = 2) -> Path:
    from archdsl.bench.store import Store

    path = tmp / "results.sqlite"
    with Store(path) as st:
        for i in range(rows):
            st.add(_row(i))
    return path


def _sql(path: Path, *statements: str) -> None:
    db = sqlite3.connect(path)
    for stmt in statements:
        db.execute(stmt)
    db.commit()
    db.close()


# ---- results stores -----------------------------------------------------------------------


@case("bch_store_garbage", argv=BENCH, expect="3")
def store_garbage(tmp: Path) -> None:
    _spec(tmp)
    (tmp / "results.sqlite").write_bytes(os.urandom(64 * 1024))


@case("bch_store_corrupt_pages", argv=BENCH, expect="3")
def store_corrupt(tmp: Path) -> None:
    _spec(tmp)
    path = _store(tmp)
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"\xde\xad" * 4000)


@case("bch_report_corrupt_pages", argv=REPORT, expect="3")
def report_corrupt(tmp: Path) -> None:
    path = _store(tmp)
    path.write_bytes(path.read_bytes()[:100] + b"\xde\xad" * 4000)


@case("bch_store_foreign_database", argv=BENCH, expect="3")
def store_foreign(tmp: Path) -> None:
    _spec(tmp)
    _sql(tmp / "results.sqlite", "CREATE TABLE contacts (name TEXT)", "INSERT INTO contacts VALUES ('me')")


@case("bch_store_runs_table_of_another_shape", argv=BENCH, expect="3")
def store_other_runs(tmp: Path) -> None:
    _spec(tmp)
    _sql(tmp / "results.sqlite", "CREATE TABLE runs (id INTEGER, what TEXT)", "PRAGMA user_version = 1")


@case("bch_store_newer_schema", argv=REPORT, expect="3")
def store_newer(tmp: Path) -> None:
    _sql(_store(tmp), "PRAGMA user_version = 99")


@case("bch_store_fifo", argv=BENCH, expect="2")
def store_fifo(tmp: Path) -> None:
    _spec(tmp)
    os.mkfifo(tmp / "results.sqlite")  # sqlite would block on it forever


@case("bch_report_row_not_json", argv=REPORT, expect="3")
def report_row_not_json(tmp: Path) -> None:
    _sql(_store(tmp), "UPDATE runs SET meta = '{\"imagenet_top1\": ' WHERE id = 1")


@case("bch_report_row_nesting_bomb", argv=REPORT, expect="3")
def report_row_deep(tmp: Path) -> None:
    bomb = "[" * 200_000 + "]" * 200_000
    _sql(_store(tmp), f"UPDATE runs SET details = '{bomb}' WHERE id = 1")


@case("bch_report_row_wrong_types", argv=REPORT, expect="3")
def report_row_types(tmp: Path) -> None:
    _sql(_store(tmp), "UPDATE runs SET settings = '[1, 2]', median_s = 'fast' WHERE id = 1")


@case("bch_report_row_infinite_latency", argv=REPORT, expect="3")
def report_row_inf(tmp: Path) -> None:
    _sql(_store(tmp), "UPDATE runs SET median_s = 9e999, throughput = 0 WHERE id = 2")


@case("bch_report_too_many_nets", argv=REPORT, expect="3")
def report_many(tmp: Path) -> None:
    _store(tmp, rows=1000)  # a bar per net: refused, not a 900-inch figure


@case("bch_report_output_in_proc", argv="report --store {file:results.sqlite} -o /proc/nope", expect="3")
def report_proc(tmp: Path) -> None:
    _store(tmp)


@case("bch_report_output_is_a_file", argv="report --store {file:results.sqlite} -o {file:net.arch}", expect="2")
def report_onto_file(tmp: Path) -> None:
    _spec(tmp)
    _store(tmp)


# ---- calibration files --------------------------------------------------------------------


def _a72_json() -> dict:
    from archdsl.analysis.a72 import A72

    return json.loads(A72.to_json())


@case("bch_calibration_huge", argv=MODEL, expect="2")
def calibration_huge(tmp: Path) -> None:
    _spec(tmp)
    with (tmp / "calib.json").open("wb") as f:
        f.truncate(2 << 30)  # 2 GiB, sparse: refused unread


@case("bch_calibration_fifo", argv=MODEL, expect="2")
def calibration_fifo(tmp: Path) -> None:
    _spec(tmp)
    os.mkfifo(tmp / "calib.json")


@case("bch_calibration_binary", argv=MODEL, expect="2")
def calibration_binary(tmp: Path) -> None:
    _spec(tmp)
    (tmp / "calib.json").write_bytes(os.urandom(4096))


@case("bch_calibration_nesting_bomb", argv=MODEL, expect="2")
def calibration_deep(tmp: Path) -> None:
    _spec(tmp)
    (tmp / "calib.json").write_text("[" * 1_000_000 + "]" * 1_000_000)


@case("bch_calibration_nan_and_zero", argv=MODEL, expect="2")
def calibration_nan(tmp: Path) -> None:
    _spec(tmp)
    text = json.dumps(_a72_json()).replace('"parallel_eff": 0.92', '"parallel_eff": NaN')
    (tmp / "calib.json").write_text(text)


@case("bch_calibration_zero_bandwidth", argv=MODEL, expect="2")
def calibration_zero(tmp: Path) -> None:
    _spec(tmp)
    data = _a72_json()
    data["cache_bw_core"] = 0
    (tmp / "calib.json").write_text(json.dumps(data))


@case("bch_calibration_strings_for_numbers", argv=MODEL, expect="2")
def calibration_strings(tmp: Path) -> None:
    _spec(tmp)
    data = _a72_json()
    data["kinds"]["conv_dw"]["compute_eff"] = "0.1"
    (tmp / "calib.json").write_text(json.dumps(data))


@case("bch_calibration_terminal_escapes", argv=MODEL, expect="2")
def calibration_escapes(tmp: Path) -> None:
    _spec(tmp)
    data = _a72_json()
    data["label"] = "ESTIMATE \x1b]0;owned\x07\x1b[2J"
    (tmp / "calib.json").write_text(json.dumps(data))


@case("bch_calibration_symlink_to_dev_zero", argv=MODEL, expect="2")
def calibration_symlink(tmp: Path) -> None:
    _spec(tmp)
    os.symlink("/dev/zero", tmp / "calib.json")


@case("bch_calibration_fuses_an_unknown_op", argv=MODEL, expect="2")
def calibration_fuses_unknown(tmp: Path) -> None:
    _spec(tmp)
    data = _a72_json()
    data["fused_acts"] = ["relu", "reluu"]
    (tmp / "calib.json").write_text(json.dumps(data))


@case("bch_calibration_fuses_a_convolution", argv=MODEL, expect="2")
def calibration_fuses_conv(tmp: Path) -> None:
    _spec(tmp)
    data = _a72_json()
    data["fused_acts"] = ["conv"]  # only activations fuse into a convolution
    (tmp / "calib.json").write_text(json.dumps(data))


@case("bch_calibration_lacks_a_kind", argv=MODEL, expect="2")
def calibration_lacks_kind(tmp: Path) -> None:
    _spec(tmp)
    data = _a72_json()
    del data["kinds"]["layout"]  # a file from an archdsl with fewer kinds: refused, not costed as a copy
    (tmp / "calib.json").write_text(json.dumps(data))
