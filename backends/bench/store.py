"""The results store: one SQLite file, one row per benchmarked spec per run, safe for concurrent runs.

Default path ``.archdsl/results.sqlite`` in the current directory (``--store PATH`` elsewhere).
Each row keeps the raw timings (JSON) next to their summary, and the keys a result depends on:

- ``spec_hash``: sources + net + parameters + input shape (:func:`.artefact.spec_key`);
- ``target`` and ``estimate`` (1 for analytical targets, whose numbers are predictions);
- ``settings``: warm-up, runs, threads actually used, batch, seed and the target's options;
- ``versions``: archdsl, Python, onnx/onnxruntime/torch as used, the model constants' hash.

``settings_hash`` and ``versions_hash`` (sha256 of the canonical JSON) make the key comparable
with ``=``; :meth:`Store.latest` returns the newest row per (spec, target, settings).

Concurrency: WAL journal (readers never block the writer), a 60 s busy timeout, and every write
in its own ``BEGIN IMMEDIATE`` transaction, retried if another process holds the lock for longer.
Two ``archdsl bench`` processes writing to one file interleave their rows and lose none
(tests/test_bench_store.py runs exactly that).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(".archdsl") / "results.sqlite"
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at    TEXT NOT NULL,
    session       TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    spec_path     TEXT NOT NULL,
    net           TEXT NOT NULL,
    spec_hash     TEXT NOT NULL,
    params        TEXT NOT NULL,
    input_shape   TEXT NOT NULL,
    target        TEXT NOT NULL,
    estimate      INTEGER NOT NULL,
    settings      TEXT NOT NULL,
    settings_hash TEXT NOT NULL,
    versions      TEXT NOT NULL,
    versions_hash TEXT NOT NULL,
    env           TEXT NOT NULL,
    timings       TEXT NOT NULL,
    details       TEXT NOT NULL,
    median_s      REAL NOT NULL,
    p90_s         REAL NOT NULL,
    p99_s         REAL NOT NULL,
    std_s         REAL NOT NULL,
    throughput    REAL NOT NULL,
    total_params  INTEGER NOT NULL,
    total_macs    INTEGER NOT NULL,
    meta          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_key ON runs (spec_hash, target, settings_hash, versions_hash);
CREATE INDEX IF NOT EXISTS runs_net ON runs (net, target);
"""

JSON_COLUMNS = ("params", "input_shape", "settings", "versions", "env", "timings", "details", "meta")


def canonical_hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


class StoreError(Exception):
    pass


class Store:
    """A results file. Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path = DEFAULT_PATH, timeout_s: float = 60.0):
        self.path = Path(path)
        self.timeout_s = timeout_s
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), timeout=timeout_s, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the results store {self.path}: {exc}") from None
        self.db.row_factory = sqlite3.Row
        self.db.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        self._retry(self._init)

    def _init(self) -> None:
        mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{self.path}: cannot switch to WAL mode (got {mode})")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise StoreError(f"{self.path} has schema version {version}; this archdsl reads {SCHEMA_VERSION}")
            for stmt in SCHEMA.strip().split(";"):
                if stmt.strip():
                    self.db.execute(stmt)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _retry(self, fn, *args):
        deadline = time.monotonic() + self.timeout_s
        delay = 0.01
        while True:
            try:
                return fn(*args)
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise StoreError(f"results store {self.path}: {exc}") from None
                if time.monotonic() > deadline:
                    raise StoreError(f"results store {self.path} stayed locked for {self.timeout_s:g} s") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def add(self, row: dict[str, Any]) -> int:
        """Insert one run; returns its id. Missing bookkeeping columns are filled in."""
        row = dict(row)
        row.setdefault("created_at", datetime.now(UTC).isoformat(timespec="milliseconds"))
        row.setdefault("pid", os.getpid())
        row.setdefault("details", {})
        row["settings_hash"] = canonical_hash(row["settings"])
        row["versions_hash"] = canonical_hash(row["versions"])
        for col in JSON_COLUMNS:
            row[col] = json.dumps(row[col], sort_keys=True, default=str)
        row["estimate"] = int(bool(row["estimate"]))
        cols = list(row)
        sql = f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
        values = [row[c] for c in cols]

        def insert() -> int:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                cur = self.db.execute(sql, values)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            return int(cur.lastrowid)

        return self._retry(insert)

    def rows(self, target: str | None = None, session: str | None = None) -> list[dict[str, Any]]:
        """All runs (oldest first), optionally of one target or one bench session."""
        sql, args = "SELECT * FROM runs", []
        where = []
        if target:
            where.append("target = ?")
            args.append(target)
        if session:
            where.append("session = ?")
            args.append(session)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        return [self._decode(r) for r in self._retry(lambda: self.db.execute(sql, args).fetchall())]

    def latest(self, target: str | None = None) -> list[dict[str, Any]]:
        """The newest run per (spec_hash, target, settings_hash), oldest first."""
        best: dict[tuple, dict[str, Any]] = {}
        for r in self.rows(target):
            best[(r["spec_hash"], r["target"], r["settings_hash"])] = r
        return sorted(best.values(), key=lambda r: r["id"])

    def targets(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT target FROM runs ORDER BY target").fetchall()]

    @staticmethod
    def _decode(r: sqlite3.Row) -> dict[str, Any]:
        d = dict(r)
        for col in JSON_COLUMNS:
            d[col] = json.loads(d[col])
        d["estimate"] = bool(d["estimate"])
        return d

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
