"""Migration 0024 on a SQLite database that holds cases: ``cases`` is rebuilt with its large columns
last (and back on downgrade) without losing a row or a reference to it, and a case's field of one
name is found through (case_id, name)."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from api.core.config import ROOT, Settings
from api.core.services import build_services
from tests.conftest import deploy

LARGE_LAST = ["incident", "data", "state"]


def _alembic(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    return config


COUNTS = text("SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_events), "
              "(SELECT count(*) FROM case_tasks), (SELECT count(*) FROM pending_timers)")


def _counts(url: str) -> tuple:
    engine = create_engine(url)
    with engine.connect() as conn:
        counts = tuple(conn.execute(COUNTS).one())
    engine.dispose()
    return counts


def _columns(url: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        names = [row[1] for row in conn.exec_driver_sql("PRAGMA table_info(cases)")]
    engine.dispose()
    return names


def test_cases_are_rebuilt_with_their_large_columns_last_and_keep_every_row(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    command.upgrade(_alembic(url), "head")
    svc = build_services(Settings(database_url=url, secret_key="test"), clock)
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    view = svc.cases.start("t_simple", {"reporter": "张三"}, "grid", "/macheng/")
    view = svc.cases.complete_task(view.tasks[0].id, {"summary": "邻里宅基地纠纷", "amount": 5000}, "grid")
    svc.db.dispose()
    assert _columns(url)[-3:] == LARGE_LAST
    before = _counts(url)
    assert before[:3] == (1, 2, 2)

    command.downgrade(_alembic(url), "0023")
    assert _columns(url)[8:11] == ["data", "state", "incident"]
    command.upgrade(_alembic(url), "head")
    assert _columns(url)[-3:] == LARGE_LAST

    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        plan = " ".join(row[3] for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT value FROM case_fields WHERE case_id = 1 AND name = 'party_hash'"))
        window = " ".join(row[3] for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT jurisdiction, count(*) FROM cases WHERE created_at >= '2026-01-01' "
            "GROUP BY jurisdiction"))
    engine.dispose()
    assert _counts(url) == before
    assert "ix_case_fields_case (case_id=? AND name=?)" in plan
    assert "COVERING INDEX ix_cases_jurisdiction" in window  # the window tested without reading a case row

    svc = build_services(Settings(database_url=url, secret_key="test"), clock)
    again = svc.cases.view(view.case.id)
    assert (again.case.state, again.case.data, again.case.version) == (view.case.state, view.case.data, 2)
    assert [t.element_id for t in again.tasks] == ["mediate"]
    svc.db.dispose()
