"""Migration 0024 on a SQLite database that holds cases: ``cases`` is rebuilt with its large columns
last (and back on downgrade) without losing a row or a reference to it, and a case's field of one
name is found through (case_id, name)."""
from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine

from api.core.config import Settings
from api.core.services import build_services
from cunliao.cli import alembic_config
from tests.conftest import deploy

LARGE_LAST = ["incident", "data", "state"]
COUNTS = ("SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_events), "
          "(SELECT count(*) FROM case_tasks), (SELECT count(*) FROM pending_timers)")


def _rows(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.exec_driver_sql(sql)]
    engine.dispose()
    return rows


def _columns(url: str) -> list[str]:
    return [row[1] for row in _rows(url, "PRAGMA table_info(cases)")]


def _plan(url: str, sql: str) -> str:
    return " ".join(row[3] for row in _rows(url, "EXPLAIN QUERY PLAN " + sql))


def test_cases_are_rebuilt_with_their_large_columns_last_and_keep_every_row(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    command.upgrade(alembic_config(url), "head")
    svc = build_services(Settings(database_url=url, secret_key="test"), clock)
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    view = svc.cases.start("t_simple", {"reporter": "张三"}, "grid", "/macheng/")
    view = svc.cases.complete_task(view.tasks[0].id, {"summary": "邻里宅基地纠纷", "amount": 5000}, "grid")
    svc.db.dispose()
    assert _columns(url)[-3:] == LARGE_LAST
    [before] = _rows(url, COUNTS)
    assert before[:3] == (1, 2, 2)

    command.downgrade(alembic_config(url), "0023")
    assert _columns(url)[8:11] == ["data", "state", "incident"]
    command.upgrade(alembic_config(url), "head")
    assert _columns(url)[-3:] == LARGE_LAST

    assert _rows(url, "PRAGMA foreign_key_check") == []
    assert _rows(url, COUNTS) == [before]
    assert "ix_case_fields_case (case_id=? AND name=?)" in _plan(
        url, "SELECT value FROM case_fields WHERE case_id = 1 AND name = 'party_hash'")
    # the window tested without reading a case row
    assert "COVERING INDEX ix_cases_jurisdiction" in _plan(
        url, "SELECT jurisdiction, count(*) FROM cases WHERE created_at >= '2026-01-01' GROUP BY jurisdiction")

    svc = build_services(Settings(database_url=url, secret_key="test"), clock)
    again = svc.cases.view(view.case.id)
    assert (again.case.state, again.case.data, again.case.version) == (view.case.state, view.case.data, 2)
    assert [t.element_id for t in again.tasks] == ["mediate"]
    svc.db.dispose()
