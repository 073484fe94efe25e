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
(tests/test_bench_store.py runs exactly that). Opening a store that already has the schema takes
no write lock, so a long writer elsewhere does not stop a bench run from starting.

A store file is not trusted: a file that is not SQLite, a corrupt one, another program's
database, a directory or a device, a lock held past the timeout, a row whose JSON was edited:
each is a :class:`StoreError` with a message and a hint, never a ``sqlite3`` traceback.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import stat
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


COLUMNS = (
    "id", "created_at", "session", "pid", "spec_path", "net", "spec_hash", "params", "input_shape", "target",
    "estimate", "settings", "settings_hash", "versions", "versions_hash", "env", "timings", "details", "median_s",
    "p90_s", "p99_s", "std_s", "throughput", "total_params", "total_macs", "meta",
)  # fmt: skip
TEXT_COLUMNS = ("created_at", "session", "spec_path", "net", "spec_hash", "target", "settings_hash", "versions_hash")
REAL_COLUMNS = ("median_s", "p90_s", "p99_s", "std_s", "throughput")
INT_COLUMNS = ("id", "pid", "estimate", "total_params", "total_macs")
JSON_TYPES: dict[str, type] = {
    "params": dict, "input_shape": list, "settings": dict, "versions": dict, "env": dict,
    "timings": list, "details": dict, "meta": dict,
}  # fmt: skip

NOT_A_STORE_HINT = (
    "it is not an archdsl results store, or it is damaged: move it away (a new store is created) "
    "or pass --store NEW.sqlite"
)


class StoreError(Exception):
    """The results store cannot be used. ``hint`` is printed as ``= help:``; ``usage`` marks a bad
    ``--store`` path (a directory, a device: exit 2) as opposed to a failure of the store (exit 3)."""

    def __init__(self, message: str, hint: str | None = None, usage: bool = False):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.usage = usage


class Store:
    """A results file. Use as a context manager or call :meth:`close`."""

    def __init__(self, path: str | Path = DEFAULT_PATH, timeout_s: float = 60.0):
        self.path = Path(path)
        self.timeout_s = timeout_s
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            st = None
        except OSError as exc:  # a parent that is a file, a path too long, no permission
            message = f"cannot open the results store {self.path}: {exc.strerror or exc}"
            raise StoreError(message, "pass --store FILE.sqlite", usage=True) from None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise StoreError(f"the results store {self.path} is a directory", "pass --store FILE.sqlite", usage=True)
        if st is not None and not stat.S_ISREG(st.st_mode):
            raise StoreError(
                f"the results store {self.path} is not a regular file", "pass --store FILE.sqlite", usage=True
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), timeout=timeout_s, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the results store {self.path}: {exc}", _where_hint(self.path)) from None
        self.db.row_factory = sqlite3.Row
        try:
            self.db.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
            self._retry(self._init)
        except BaseException:
            self.db.close()
            raise

    def _init(self) -> None:
        mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{self.path}: cannot switch to WAL mode (got {mode})", _where_hint(self.path))
        self.db.execute("PRAGMA synchronous = NORMAL")
        # an existing store needs no write lock; but its version and its tables are read in one
        # transaction, one snapshot: read one by one, a store another process is creating at that
        # moment could show its tables already and its version not yet ("something else")
        self.db.execute("BEGIN")
        try:
            ok = self._schema_ok()
        finally:
            self.db.execute("COMMIT")
        if ok:
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if not self._schema_ok():
                for stmt in SCHEMA.strip().split(";"):
                    if stmt.strip():
                        self.db.execute(stmt)
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _schema_ok(self) -> bool:
        """True for a store with this schema; False for an empty file; StoreError for anything else."""
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        tables = [r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()]
        tables = [t for t in tables if not t.startswith("sqlite_")]
        if version not in (0, SCHEMA_VERSION):
            raise StoreError(
                f"{self.path} has schema version {version}; this archdsl reads {SCHEMA_VERSION}",
                "use the archdsl that wrote it, or pass --store NEW.sqlite",
            )
        if version == 0 and not tables:
            return False
        if version == 0 or "runs" not in tables:
            shown = ", ".join(tables[:5]) or "none"
            raise StoreError(
                f"{self.path} is an SQLite database of something else (tables: {shown}), not an archdsl results store",
                "pass --store NEW.sqlite",
            )
        have = {r[1] for r in self.db.execute("PRAGMA table_info(runs)").fetchall()}
        lacking = [c for c in COLUMNS if c not in have]
        if lacking:
            raise StoreError(f"{self.path}: the runs table lacks the column '{lacking[0]}'", NOT_A_STORE_HINT)
        return True

    def _retry(self, fn, *args):
        deadline = time.monotonic() + self.timeout_s
        delay = 0.01
        while True:
            try:
                return fn(*args)
            except sqlite3.OperationalError as exc:
                text = str(exc)
                if "locked" not in text and "busy" not in text:
                    hint = NOT_A_STORE_HINT if "no such" in text or "no column" in text else _where_hint(self.path)
                    raise StoreError(f"results store {self.path}: {exc}", hint) from None
                if time.monotonic() > deadline:
                    raise StoreError(
                        f"the results store {self.path} stayed locked for {self.timeout_s:g} s "
                        "(another archdsl, or another program, holds it)",
                        "wait for the other writer, raise --store-timeout, or pass --store OTHER.sqlite",
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
            except sqlite3.DatabaseError as exc:  # not a database, malformed, ...
                raise StoreError(f"cannot use the results store {self.path}: {exc}", NOT_A_STORE_HINT) from None

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
        sql = "SELECT DISTINCT target FROM runs ORDER BY target"
        return [str(r[0]) for r in self._retry(lambda: self.db.execute(sql).fetchall())]

    def _decode(self, r: sqlite3.Row) -> dict[str, Any]:
        """One row as Python values; StoreError if a value is not what archdsl writes."""
        d = dict(r)

        def corrupt(what: str) -> StoreError:
            return StoreError(
                f"{self.path}: row {d.get('id')!r} is corrupt: {what}",
                "the file was edited or damaged: delete that row, or pass --store NEW.sqlite",
            )

        for col in JSON_COLUMNS:
            try:
                d[col] = json.loads(d[col])
            except (TypeError, ValueError, RecursionError):
                raise corrupt(f"column '{col}' is not JSON") from None
            if not isinstance(d[col], JSON_TYPES[col]):
                raise corrupt(f"column '{col}' is not a JSON {JSON_TYPES[col].__name__}")
        for col in TEXT_COLUMNS:
            if not isinstance(d[col], str):
                raise corrupt(f"column '{col}' is not text")
        for col in INT_COLUMNS:
            if isinstance(d[col], bool) or not isinstance(d[col], int):
                raise corrupt(f"column '{col}' is not an integer")
        for col in REAL_COLUMNS:
            if not isinstance(d[col], int | float) or math.isnan(d[col]):
                raise corrupt(f"column '{col}' is not a number")
        threads = d["settings"].get("threads")
        if isinstance(threads, bool) or not isinstance(threads, int):
            raise corrupt("its settings have no thread count")
        d["estimate"] = bool(d["estimate"])
        return d

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _where_hint(path: Path) -> str:
    return f"check that {path.parent or '.'} exists and is writable, or pass --store OTHER.sqlite"
