"""Database connections: one SQLAlchemy engine per URL, SQLite tuned for a small server.

SQLite runs in WAL mode so readers never block the writer. Write commands begin with
``BEGIN IMMEDIATE``: two workers completing the same task then queue on the write lock instead
of failing with SQLITE_BUSY when one upgrades a stale snapshot.

PostgreSQL behind PgBouncer in transaction mode: nothing here keeps state on a server connection
between transactions (no session ``SET``, advisory lock, ``LISTEN``, temporary table or held
cursor), except psycopg's server-side prepared statements, which it makes after a statement has run
five times on a connection. ``DATABASE_PREPARED_STATEMENTS=0`` turns them off for a PgBouncer older
than 1.21 (or one without ``max_prepared_statements``), where another client's transaction may land
on a server connection that lacks them (``docs/scaling.md``).
"""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_SQLITE_PATH = Path("var") / "cunliao.db"


def default_url() -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    connect_args = {} if prepared_statements() else {"prepare_threshold": None}
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args=connect_args)


def prepared_statements() -> bool:
    """Whether psycopg may prepare statements on the server (``DATABASE_PREPARED_STATEMENTS``)."""
    return os.environ.get("DATABASE_PREPARED_STATEMENTS", "1").strip().lower() not in ("0", "false", "no", "off")


def analyze(conn: Connection, *tables: str) -> None:
    """Row counts for the planner, on PostgreSQL, of those ``tables`` that hold rows. A backfill
    needs them: on tables never analyzed since a bulk load (the bench's build, a restore) the
    planner guessed a few dozen cases and took 145 s instead of 1.3 s for 10,360 cases. An empty
    table is left alone: statistics saying "empty" outlive the first thousands of rows (until
    autovacuum's next ANALYZE), and the scale bench's case phase, on a database migrated empty, ran
    20-40 % slower on such plans."""
    if conn.dialect.name != "postgresql":
        return
    filled = [t for t in tables if conn.execute(text(f"SELECT 1 FROM {t} LIMIT 1")).first() is not None]
    if filled:
        conn.execute(text("ANALYZE " + ", ".join(filled)))


def lz4_available(conn: Connection) -> bool:
    """Whether this PostgreSQL can compress values with LZ4 (14 or later, built with it); False on SQLite."""
    return conn.dialect.name == "postgresql" and bool(conn.scalar(text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")))


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = "IMMEDIATE" if conn.get_execution_options().get("cunliao_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _reading(engine: Engine) -> Engine:
    """The engine for read sessions. On PostgreSQL they run without BEGIN and ROLLBACK (autocommit):
    at READ COMMITTED each statement of a transaction sees its own snapshot anyway, so a read answers
    the same, with two round trips fewer; and psycopg drops every prepared statement of a connection
    at each ROLLBACK, which closing a read session used to send, so no statement stayed prepared
    from one request to the next. Nothing may write through a read session (writes use ``write``)."""
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


class Database:
    """Session factories for reads and for write commands, and for reports.

    ``report`` reads from ``replica_url`` when one is given (a PostgreSQL streaming replica: the
    statistics' long aggregate queries then leave the primary to the commands), else from the
    primary like ``read``. A replica lags the primary by its replication delay, so only reads
    that may be that much behind use it (``docs/scaling.md``)."""

    def __init__(self, url: str, replica_url: str | None = None) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.write_engine = self.engine.execution_options(cunliao_write=True)
        # Reads on a bare connection (a hot path's Core statement) use ``read_engine``, as sessions do.
        self.read_engine = _reading(self.engine)
        self.read = sessionmaker(self.read_engine, expire_on_commit=False)
        self.write = sessionmaker(self.write_engine, expire_on_commit=False)
        self.replica_engine = make_engine(replica_url) if replica_url else None
        self.report = sessionmaker(_reading(self.replica_engine or self.engine), expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self) -> Session:
        return self.read()

    def dispose(self) -> None:
        self.engine.dispose()
        if self.replica_engine is not None:
            self.replica_engine.dispose()
