"""Shared fixtures: a real, migrated database per test (SQLite by default, or TEST_DATABASE_URL),
services on a fake clock, and a Flask test client.

SQLite: the schema is migrated and seeded once into a template file that each test copies.
PostgreSQL: one database is migrated and seeded once; after each test every table but the
organisation's is emptied (the event log's append-only triggers are bypassed only there, with
session_replication_role, which needs the superuser CI connects as).
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import traceback
from datetime import datetime, timezone
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, text, update

from api.core.config import Settings
from api.core.models import User
from api.core.services import build_services
from api.people.seed import seed_demo, sync_reference_data
from cunliao.app import create_app
from cunliao.cli import migrate
from engine.clock import FakeClock
from engine.db import make_engine
from engine.definitions import SourceFile
from engine.models import DefinitionFile, DefinitionVersion, DocumentTemplate, MessageOutbox
from engine.registry import Deployed

FIXTURES = Path(__file__).parent / "fixtures"
DEMO_PASSWORD = "test-password"
KEEP_TABLES = {"alembic_version", "sla_rules", "calendar_days"}
# On PostgreSQL the seeded people are restored from a snapshot after each test (no argon2 per test).
PEOPLE_TABLES = ("roles", "org_units", "users", "user_roles", "building_heads")
PG_URL = os.environ.get("TEST_DATABASE_URL")
# How many times each concurrency test repeats its race: a few in `make test`, 100 to prove it.
REPEATS = int(os.environ.get("CONCURRENCY_REPEATS", "3"))
# Thrown messages not yet settled (delivered or undeliverable).
UNSETTLED = select(func.count()).select_from(MessageOutbox).where(MessageOutbox.settled_at.is_(None))


# The seeded logins' password, hashed with argon2's cheapest parameters: a verify reads its cost from
# the hash, so each test's logins take about a millisecond instead of the production cost (~0.2 s of
# CPU each, thousands of times a run). Login still runs the real argon2 verify; a password a test
# sets or changes is hashed at the production cost.
CHEAP_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(DEMO_PASSWORD)


def _seed(url: str) -> None:
    migrate(url)
    settings = Settings(database_url=url)
    svc = build_services(settings)
    with svc.db.write() as session, session.begin():
        sync_reference_data(session, svc.roles, settings.workflows_dir)
        seed_demo(session, DEMO_PASSWORD, datetime(2026, 1, 1, tzinfo=timezone.utc))
        session.execute(update(User).where(User.password_hash != "").values(password_hash=CHEAP_HASH))
    svc.db.dispose()


@pytest.fixture(scope="session")
def _template(tmp_path_factory) -> str:
    if PG_URL:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        _seed(PG_URL)
        engine = make_engine(PG_URL)
        with engine.connect() as conn:
            _PEOPLE_SNAPSHOT.update({t: [dict(r._mapping) for r in conn.execute(text(f'SELECT * FROM "{t}" ORDER BY 1'))]
                                     for t in PEOPLE_TABLES})
        engine.dispose()
        return PG_URL
    path = tmp_path_factory.mktemp("template") / "template.db"
    _seed(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
def db_url(_template, tmp_path) -> str:
    if not PG_URL:
        target = tmp_path / "cunliao.db"
        shutil.copy(_template, target)
        yield f"sqlite:///{target}"
        return
    yield PG_URL
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname='public'"))]
        doomed = ", ".join(f'"{t}"' for t in tables if t not in KEEP_TABLES)
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {doomed} RESTART IDENTITY CASCADE"))
        for table in PEOPLE_TABLES:
            rows = _PEOPLE_SNAPSHOT[table]
            if rows:
                columns = ", ".join(f'"{c}"' for c in rows[0])
                values = ", ".join(f":{c}" for c in rows[0])
                conn.execute(text(f'INSERT INTO "{table}" ({columns}) VALUES ({values})'), rows)
                if "id" in rows[0]:
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                      f"(SELECT MAX(id) FROM \"{table}\"))"))
    engine.dispose()


_PEOPLE_SNAPSHOT: dict[str, list[dict]] = {}

# What a unique-key race that was not handled leaves in a log, on either database.
UNIQUE_VIOLATION = ("IntegrityError", "UniqueViolation", "UNIQUE constraint failed",
                    "duplicate key value violates unique constraint")


def integrity_errors(lines) -> list[str]:
    """The log records (or plain lines) that show an unhandled unique-key race."""
    found = []
    for line in lines:
        text = line if isinstance(line, str) else line.getMessage()
        if isinstance(line, logging.LogRecord) and line.exc_info and line.exc_info[1] is not None:
            text += "\n" + "".join(traceback.format_exception(*line.exc_info))
        if any(marker in text for marker in UNIQUE_VIOLATION):
            found.append(text)
    return found


@pytest.fixture(autouse=True)
def no_integrity_error_in_the_log(request, caplog):
    """Every test: nothing the engine or the API logged shows an IntegrityError. Exactly-once
    writes claim their keys with ON CONFLICT DO NOTHING, so a race never raises one."""
    for name in ("engine", "api"):
        caplog.set_level(logging.INFO, logger=name)
    yield
    if request.node.get_closest_marker("raises_integrity_error"):
        return
    found = integrity_errors(caplog.get_records("setup") + caplog.get_records("call"))
    assert not found, "an IntegrityError was logged:\n" + "\n".join(found)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc))


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return Settings(database_url=db_url, secret_key="test", demo_password=DEMO_PASSWORD,
                    attachments_dir=tmp_path / "attachments")


@pytest.fixture
def svc(settings, clock):
    services = build_services(settings, clock)
    yield services
    services.db.dispose()


@pytest.fixture
def commit_fails(monkeypatch):
    """Every case write runs, then the process "dies" before its transaction commits; the fixture's
    value puts the real write back."""
    from engine import store
    real = store.write

    def write_then_fail(conn, change, prefix):
        real(conn, change, prefix)
        raise RuntimeError("process died before commit")
    monkeypatch.setattr(store, "write", write_then_fail)
    return lambda: monkeypatch.setattr(store, "write", real)


@pytest.fixture
def app(settings, clock):
    application = create_app(settings, clock)
    yield application
    application.extensions["cunliao"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def library(svc):
    """The whole bundled process library (workflows/bpmn + workflows/forms), deployed."""
    from cunliao.cli import SOURCE_SUFFIXES

    root = FIXTURES.parent.parent / "workflows"
    files = [SourceFile(p.name, p.read_bytes()) for d in ("bpmn", "forms", "documents")
             for p in sorted((root / d).iterdir())
             if p.name.endswith(SOURCE_SUFFIXES)]
    return {d.key: d for d in deploy_library(svc, files)}


# What deploying a library writes (and nothing else), by the digest of its files.
DEFINITION_TABLES = (DefinitionFile.__table__, DefinitionVersion.__table__, DocumentTemplate.__table__)
_LIBRARIES: dict[str, tuple[list[Deployed], dict]] = {}


def deploy_library(services, files: list[SourceFile], by: str = "test") -> list[Deployed]:
    """``registry.deploy`` into a database that holds no definitions yet, at the services' clock.

    Compiling the library (parsing every BPMN file, checking every form schema, typesetting every
    document template) costs about half a second of CPU; over a hundred tests want it. The first test
    of a session deploys for real (and so checks the library); the rows it wrote are kept and copied
    into the next tests' databases: the same rows, ids and versions a deploy of the same files into
    the same empty tables writes. A database that already holds definitions gets a real deploy."""
    digest = hashlib.sha256(repr([(f.name, f.sha256) for f in files] + [by]).encode()).hexdigest()
    now = services.clock.now()
    with services.db.write() as session, session.begin():
        empty = not any(session.execute(select(func.count()).select_from(t)).scalar() for t in DEFINITION_TABLES)
        if not empty or digest not in _LIBRARIES:
            deployed = services.registry.deploy(session, files, by, now)
            if empty:
                session.flush()
                _LIBRARIES[digest] = (deployed, {t: [dict(r._mapping) for r in session.execute(select(t))]
                                                 for t in DEFINITION_TABLES})
            return deployed
        deployed, rows = _LIBRARIES[digest]
        for table in DEFINITION_TABLES:
            stamped = [{**row, "deployed_at": now} if "deployed_at" in row else row for row in rows[table]]
            session.execute(table.insert(), stamped)
            if "id" in table.c and not services.db.is_sqlite:
                session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                     f"(SELECT MAX(id) FROM \"{table.name}\"))"))
    return deployed


def fixture_files(*names: str) -> list[SourceFile]:
    return [SourceFile(name, (FIXTURES / name).read_bytes()) for name in names]


def deploy(services, *names: str, by: str = "test"):
    with services.db.write() as session, session.begin():
        return services.registry.deploy(session, fixture_files(*names), by, services.clock.now())


@pytest.fixture
def login(client):
    """login('mediator') -> headers with a bearer token for that demo user."""
    def _login(username: str) -> dict[str, str]:
        response = client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 200, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['access_token']}"}
    return _login


@pytest.fixture
def verify_all_cases(svc):
    """After the test: every case's audit chain is intact and its events replay to its stored state."""
    yield
    from engine.verify import iter_cases, verify_in_db

    with svc.db.read() as session:
        for case in iter_cases(session):
            verdict = verify_in_db(session, svc.registry, svc.cases.script_engine, case)
            assert verdict.ok, verdict.as_dict()
