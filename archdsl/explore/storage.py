"""Where a study lives: the ``--storage`` forms and the Optuna storage each one opens.

- nothing: a SQLite file ``build/explore/<space>.db`` (the folder is created; the file must not
  be an input of this run);
- ``sqlite:///PATH`` or a path ending in ``.db`` / ``.sqlite`` / ``.sqlite3``: a SQLite file;
- ``postgresql://USER@HOST:PORT/DB`` (or ``postgresql+psycopg://``): a PostgreSQL server through
  psycopg 3 — many processes on many machines can join one study;
- ``journal:PATH``: Optuna's journal file storage (an append-only log with file locks; works on
  a shared file system where no database server is available).

Every worker process opens its own connection from the same text (:func:`open_storage`), so the
text is what travels to spawned workers. Malformed URLs are usage errors (exit 2); a server that
does not answer, or a driver that is not installed, is a tool failure (exit 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import TOOL, ExploreError

DEFAULT_DIR = Path("build") / "explore"
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
FORMS = "sqlite:///PATH, PATH.db, postgresql://USER@HOST:PORT/DB or journal:PATH"


@dataclass(frozen=True)
class StorageSpec:
    """A parsed ``--storage``: ``kind`` (sqlite, postgresql, journal), ``url`` for SQLAlchemy or
    the journal file's path, and ``text`` (what the user wrote, passwords hidden) for messages."""

    kind: str
    url: str
    text: str

    @property
    def path(self) -> Path | None:
        if self.kind == "journal":
            return Path(self.url)
        if self.kind == "sqlite":
            return Path(self.url[len("sqlite:///") :])
        return None


def default_storage(space_name: str) -> str:
    return f"sqlite:///{DEFAULT_DIR / (space_name + '.db')}"


def parse_storage(text: str) -> StorageSpec:
    """``--storage`` text → :class:`StorageSpec`; :class:`ExploreError` (exit 2) when malformed."""
    t = text.strip()
    if not t:
        raise ExploreError("--storage is empty", f"give one of: {FORMS}")
    if t.startswith("journal:"):
        path = t[len("journal:") :]
        if not path:
            raise ExploreError("journal storage needs a file: journal:PATH", f"storage forms: {FORMS}")
        return StorageSpec("journal", path, t)
    if t.startswith("sqlite:///"):
        if len(t) == len("sqlite:///"):
            raise ExploreError("sqlite storage needs a file: sqlite:///PATH", f"storage forms: {FORMS}")
        return StorageSpec("sqlite", t, t)
    scheme = t.split("://", 1)[0].lower() if "://" in t else ""
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        try:
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError
        except ImportError:
            from .errors import missing_optuna

            raise missing_optuna() from None

        try:
            url = make_url("postgresql+psycopg://" + t.split("://", 1)[1])
        except (ArgumentError, ValueError) as exc:
            raise ExploreError(
                f"malformed PostgreSQL URL: {exc}", "postgresql://USER[:PASSWORD]@HOST[:PORT]/DB"
            ) from None
        if not url.database:
            raise ExploreError("the PostgreSQL URL names no database", "postgresql://USER@HOST:PORT/DB")
        return StorageSpec("postgresql", url.render_as_string(hide_password=False), url.render_as_string())
    if scheme:
        raise ExploreError(f"unsupported storage '{scheme}://'", f"storage forms: {FORMS}")
    if t.endswith(SQLITE_SUFFIXES):
        return StorageSpec("sqlite", f"sqlite:///{t}", t)
    raise ExploreError(f"cannot tell what storage '{t}' is", f"storage forms: {FORMS}")


def prepare(spec: StorageSpec) -> None:
    """Before the first connection: the folder of a file storage exists, and the file is no input
    of this run (it would be written over)."""
    path = spec.path
    if path is None:
        return
    from archdsl.fileio import check_output

    check_output(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExploreError(
            f"cannot create {path.parent}: {exc.strerror or exc}", "choose another --storage", TOOL
        ) from None


def _sqlite_connector(path: str):
    """Connections to a study's SQLite file in WAL mode with ``synchronous=NORMAL``: a trial
    writes a dozen small transactions, which cost an fsync each in SQLite's default mode (tens of
    ms on a busy disk); WAL commits without one (a crash of archdsl loses nothing; a power cut may
    lose the last trials) and lets readers (the progress bar, ``show``) run beside a writer.
    Several local workers wait up to 60 s for the write lock rather than fail at once."""
    import sqlite3

    def connect():
        con = sqlite3.connect(path, timeout=60, check_same_thread=False)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    return connect


def open_storage(spec: StorageSpec):
    """The Optuna storage for ``spec`` (a new connection; call once per process)."""
    import optuna

    prepare(spec)
    if spec.kind == "journal":
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        try:
            return JournalStorage(JournalFileBackend(spec.url))
        except OSError as exc:
            raise ExploreError(
                f"cannot open journal {spec.url}: {exc.strerror or exc}", "check the path", TOOL
            ) from None
    engine_kwargs: dict = {}
    if spec.kind == "sqlite":
        engine_kwargs = {"creator": _sqlite_connector(str(spec.path))}
    else:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ExploreError(
                "PostgreSQL storage needs psycopg 3, which is not installed", "pip install 'archdsl[explore]'", TOOL
            ) from None
        engine_kwargs = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    try:
        return optuna.storages.RDBStorage(spec.url, engine_kwargs=engine_kwargs)
    except Exception as exc:  # sqlalchemy's OperationalError and friends: the server or file
        reason = (
            str(getattr(exc, "orig", None) or exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        raise ExploreError(
            f"cannot open storage {spec.text}: {reason}",
            "check that the server is running and the URL is right" if spec.kind == "postgresql" else "check the path",
            TOOL,
        ) from None
