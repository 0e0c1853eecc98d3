"""A gunicorn worker warms its caches when it starts (``api.core.services.warm``, called from
``cunliao.wsgi``): its first task completion then reads no definition, form, SLA rule or unit name
from the database, and the declared personal fields are read in one query for all forms."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager

from sqlalchemy import event

from api.core.pii import DeclaredFields
from api.core.services import build_services, warm
from engine.definitions import SourceFile
from tests.conftest import deploy

DECLARING_FORM = json.dumps({
    "type": "object", "required": ["summary", "amount"],
    "properties": {"summary": {"type": "string"}, "amount": {"type": "number"},
                   "liaison_phone": {"type": "string", "format": "tel"},
                   "witness": {"type": "object", "properties": {"card": {"type": "string", "format": "id-number"}}}},
}).encode()
# What a warm worker's first completion must not read again.
# (The newest version id, a subquery of the case's read, is read on purpose: a deploy since shows there.)
CACHED_TABLES = ("definition_files", "sla_rules", "calendar_days", "org_units", "SELECT definition_versions.")


@contextmanager
def statements(db):
    seen: list[str] = []

    def before(conn, cursor, statement, *_):
        seen.append(" ".join(statement.split()))
    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _two_versions(svc) -> tuple[str, int, int]:
    """t_simple v1 with a case open on it, then v2 whose form declares personal fields: (the open
    case's ready task, v1's id, v2's id)."""
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    started = svc.cases.start("t_simple", {}, "grid", "/macheng/")
    with svc.db.write() as session, session.begin():
        svc.registry.deploy(session, [SourceFile("t_register.schema.json", DECLARING_FORM)], "test", svc.clock.now())
        latest = svc.registry.latest(session, "t_simple").id
    return str(started.tasks[0].id), started.case.definition_id, latest


def test_warm_loads_the_latest_versions_and_those_open_cases_run_on(svc, settings, clock):
    _, running, latest = _two_versions(svc)
    assert running != latest
    fresh = build_services(settings, clock)
    try:
        warmed = warm(fresh)
        assert {running, latest} <= set(fresh.registry._cache)
        assert all(set(loaded._validators) == set(loaded.forms) for loaded in fresh.registry._cache.values())
        assert {"liaison_phone", "card"} <= set(fresh.declared())
        assert warmed["versions"] == len(fresh.registry._cache) and warmed["sla_rules"] > 0
    finally:
        fresh.db.dispose()


def test_a_warm_workers_first_completion_reads_nothing_it_caches(svc, settings, clock):
    task_id, _, _ = _two_versions(svc)
    fresh = build_services(settings, clock)
    try:
        warm(fresh)
        with statements(fresh.db) as seen:
            view = fresh.cases.complete_task(task_id, {"summary": "邻里纠纷", "amount": 5000,
                                                       "liaison_phone": "13912345678"}, "grid")
        cached = [s for s in seen if any(table in s for table in CACHED_TABLES)]
        assert seen and not cached, cached
        assert view.case.data["liaison_phone"]["$pii"] == "phone"  # declared by the v2 form, sealed
    finally:
        fresh.db.dispose()


def test_declared_fields_of_every_form_come_in_one_query(svc, library):
    declared = DeclaredFields(svc.db)
    with statements(svc.db) as seen:
        fields = declared()
    selects = [s for s in seen if s.startswith("SELECT")]
    # the newest version id, the versions' file lists, then every form's content at once
    assert len(selects) == 3 and len(library) > 10, selects
    assert "definition_files" in selects[-1] and fields
    with statements(svc.db) as seen:
        assert declared() is fields
    assert [s for s in seen if s.startswith("SELECT")] == [selects[0]]  # nothing was deployed since


def test_the_wsgi_module_warms_the_worker_it_is_imported_in(settings, svc):
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    env = dict(os.environ, DATABASE_URL=settings.database_url, SECRET_KEY="test", LOG_FORMAT="text")
    probe = "import cunliao.wsgi as w; print(len(w.app.extensions['cunliao'].registry._cache))"
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.split()[-1]) >= 1


def test_a_worker_whose_database_is_away_starts_cold():
    """gunicorn gives up when a worker fails to boot: a database away at start costs the warm-up only."""
    env = dict(os.environ, DATABASE_URL="postgresql://nobody@127.0.0.1:1/away", SECRET_KEY="test", LOG_FORMAT="text")
    probe = "import cunliao.wsgi as w; print(len(w.app.extensions['cunliao'].registry._cache))"
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "0" and "caches not warmed" in done.stderr
