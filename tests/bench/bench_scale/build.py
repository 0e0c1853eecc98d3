"""Build the city on the configured database: schema, reference data, the bundled processes, the
organisation, the census, visits and patrols (bulk), and the cases (the engine): on PostgreSQL the
census alongside the cases, in its own process; on SQLite (one writer) before them."""
from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, func, make_url, select, text

from api.core.config import ROOT, Settings
from api.core import reach
from api.core.services import build_services
from api.people.seed import seed_demo, sync_reference_data
from api.stats import summary
from cunliao.cli import _sources, migrate
from engine.definitions import SourceFile
from engine.models import Case, CaseEvent, CaseTask

from . import census, org, paths
from . import cases as case_runner
from .sizes import Sizes


def reset(url: str, force: bool = False) -> None:
    """An empty database at ``url`` (the bench owns it: everything in it is dropped). A database
    whose name does not say "bench" is only dropped with ``force`` (not the app's own by mistake)."""
    if "bench" not in url.rsplit("/", 1)[-1] and not force:
        raise SystemExit(f"bench-scale drops everything in {url.rsplit('/', 1)[-1]}: name a database with 'bench' "
                         "in its name, or pass --force")
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[-1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    url = "postgresql+psycopg://" + url.removeprefix("postgresql://").removeprefix("postgresql+psycopg://")
    _create_database(make_url(url))
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _create_database(url) -> None:
    """The bench's database, created on its server (through the ``postgres`` database) when missing."""
    server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}) is None:
                conn.execute(text(f"CREATE DATABASE {conn.dialect.identifier_preparer.quote(url.database)}"))
    finally:
        server.dispose()


def build(settings: Settings, sizes: Sizes, seed: int, workers: int, log, now: datetime | None = None) -> dict:
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    migrate(settings.database_url)
    svc = build_services(settings)
    files = [SourceFile(str(p.relative_to(base)), p.read_bytes()) for base, p in
             _sources(tuple(ROOT / "workflows" / folder for folder in ("bpmn", "forms", "documents")))]
    with svc.db.write() as session, session.begin():
        sync_reference_data(session, svc.roles, settings.workflows_dir)
        seed_demo(session, settings.demo_password, now)
    with svc.db.write() as session, session.begin():  # the SLA keys the timers name are committed now
        svc.registry.deploy(session, files, "bench", now)
    phases["schema_s"] = time.perf_counter() - t0

    t = time.perf_counter()
    with svc.db.write_engine.begin() as conn:
        city = org.build(conn, sizes, settings.demo_password, now)
    phases["org_s"] = time.perf_counter() - t
    log(f"organisation: {len(city.towns)} towns, {len(city.villages)} villages, {len(city.grids)} grids, "
        f"{city.users} users ({phases['org_s']:.0f} s)")

    # On PostgreSQL the census loads in its own process while the cases run: a COPY leaves most of
    # its second core idle, and the cases never read the census. SQLite has one writer: in turn.
    svc.db.dispose()
    on_postgres = settings.database_url.startswith("postgresql")
    census_job = _in_process(_census, settings, city, sizes, now, seed) if on_postgres else None
    if census_job is None:
        counts, phases["census_s"] = _census(settings, city, sizes, now, seed)
        log(f"census: {counts} ({phases['census_s']:.0f} s)")

    t = time.perf_counter()
    planned = paths.plans(random.Random(seed), sizes.cases, city.grids, now, sizes.years)
    outcomes = case_runner.run(settings, planned, now, workers, seed, log,
                               every=(VACUUM_EVERY_S, lambda: _vacuum(svc, _CHURNED)) if on_postgres else None)
    with svc.db.write_engine.begin() as conn:  # the workers skipped the write hooks (cases.py)
        summary.backfill(conn)
        reach.backfill(conn)
    phases["cases_s"] = time.perf_counter() - t
    if census_job is not None:
        counts, phases["census_s"] = census_job.result()
        log(f"census: {counts} ({phases['census_s']:.0f} s, alongside the cases; "
            f"{time.perf_counter() - t - phases['cases_s']:.0f} s waited for after them)")
    if on_postgres:
        _vacuum(svc)
    with svc.db.read() as session:
        totals = {"cases": session.scalar(select(func.count()).select_from(Case)),
                  "events": session.scalar(select(func.count()).select_from(CaseEvent)),
                  "tasks": session.scalar(select(func.count()).select_from(CaseTask)),
                  "open_cases": session.scalar(select(func.count()).select_from(Case)
                                               .where(Case.status.in_(("active", "waiting"))))}
    svc.db.dispose()
    phases["build_s"] = time.perf_counter() - t0
    log(f"cases: {totals} in {phases['cases_s']:.0f} s; {len(outcomes)} path outcomes")
    return {"now": now.isoformat(), "rows": {**counts, **totals, "users": city.users, "grids": len(city.grids)},
            "outcomes": dict(sorted(Counter(outcomes).items())), "seconds": {k: round(v, 1) for k, v in phases.items()},
            "db_mb": round(database_mb(settings.database_url), 1), "city": city}


# What autovacuum does on a production server, done by the build: this machine's server runs with
# autovacuum off, and without it the cases table carried every step's dead row versions (6 dead to 1
# live at full size, 965 MB of heap for 103,000 cases), which every count over cases then read.
# Autovacuum's default threshold (a fifth of a table dead) comes every few minutes at the build's
# rate of updates; the tables a step rewrites or deletes from, that often, then all at the end.
VACUUM_EVERY_S = 180
_CHURNED = "cases, case_tasks, pending_timers, case_fields, message_waits, message_outbox, case_counters"


def _vacuum(svc, tables: str = "") -> None:
    """VACUUM (ANALYZE) of ``tables`` (a comma-separated list), or of the whole database."""
    with svc.db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text(f"VACUUM (ANALYZE) {tables}"))


def _census(settings: Settings, city, sizes: Sizes, now: datetime, seed: int) -> tuple[dict, float]:
    """The census, visits and patrols in one transaction; their row counts and seconds."""
    t = time.perf_counter()
    svc = build_services(settings)
    try:
        with svc.db.write_engine.begin() as conn:
            counts = census.build(conn, city, sizes, svc.vault, now, seed)
            counts.update(census.visits_and_patrols(conn, city, sizes, now, seed))
    finally:
        svc.db.dispose()
    return counts, time.perf_counter() - t


def _in_process(function, *args):
    """Run ``function(*args)`` in a forked process; ``.result()`` waits for its answer or its error
    (an executor, not a Pool: a process killed outright, say for memory, raises BrokenProcessPool
    instead of leaving the build waiting forever)."""
    executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
    job = executor.submit(function, *args)
    executor.shutdown(wait=False)  # its one worker exits once the job is done
    return job


def database_mb(url: str) -> float:
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[-1])
        return sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists()) / 2**20
    engine = create_engine("postgresql+psycopg://" + url.removeprefix("postgresql://"))
    with engine.connect() as conn:
        size = conn.scalar(text("SELECT pg_database_size(current_database())"))
    engine.dispose()
    return size / 2**20
