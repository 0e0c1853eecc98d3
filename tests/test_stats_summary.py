"""case_facts (api/stats/summary.py): the KPIs read from the per-case summary kept with every case
change are the KPIs computed from the live tables (``facts.computed_facts``), for every grouping,
window and caller, before and after the clock makes tasks overdue; the rows the write hook kept
are the rows the migration's backfill writes."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import insert, select

from api.core.auth import Principal
from api.stats import facts as facts_module
from api.stats import service as stats
from api.stats.models import CaseFacts
from api.stats.summary import COLUMNS, backfill, stored

from .test_process_mediation import library  # noqa: F401
from .test_stats import GUISHAN, SONGBU, lead, seed, start, triage

CITY = Principal(1, "city", "city", frozenset({"city_director"}), "/macheng/", "麻城市")
TOWN = Principal(2, "town", "town", frozenset({"town_officer"}), SONGBU, "宋埠镇")
GROUPS = (None, "town", "village", "category", "channel", "month", "first_handler")


def both(svc, monkeypatch, principal, filters, group_by):
    now = svc.clock.now()
    with svc.db.read() as session:  # the category catalogue is the app's: the test runs in its context
        summary = stats.kpis(session, principal, filters, now, group_by)
        with monkeypatch.context() as patched:
            patched.setattr(stats, "facts", facts_module.computed_facts)
            computed = stats.kpis(session, principal, filters, now, group_by)
    return summary, computed


def rows(svc):
    with svc.db.read() as session:
        return sorted(tuple(row) for row in session.execute(select(CaseFacts.__table__)))


@pytest.fixture
def city(svc, library, clock, app):  # noqa: F811
    ids = seed(svc, clock)
    ids["open"] = start(svc, GUISHAN + "guishan-guifeng/guishan-guifeng-g1/")
    triage(svc, ids["open"], classify={"category": "邻里"})
    ids["lead"] = lead(svc, "police_110", "110-9", "monitor")
    with app.app_context():
        yield ids


@pytest.mark.parametrize("principal", [CITY, TOWN], ids=["city", "town"])
def test_the_summary_gives_the_computed_kpis(svc, city, clock, monkeypatch, principal):
    windows = [stats.Filters(), stats.window(date(2026, 3, 1), date(2026, 3, 3), None),
               stats.period_filters("2026"), stats.Filters(area="/macheng/songbu/songbu-yangjiawan/")]
    for later in (0, 30):  # and a month on: more tasks past due, on-time closings and signings change
        clock.advance(days=later)
        for filters in windows:
            for group_by in GROUPS:
                summary, computed = both(svc, monkeypatch, principal, filters, group_by)
                assert summary == computed, (filters, group_by)
    assert both(svc, monkeypatch, CITY, stats.Filters(), None)[0]["totals"]["screened"] >= 8


def test_the_rows_kept_with_each_change_are_the_backfilled_rows(svc, city):
    kept = rows(svc)
    assert len(kept) >= 10
    with svc.db.write_engine.begin() as conn:
        backfill(conn)
    assert rows(svc) == kept


def test_the_backfill_reads_each_cases_own_tasks_on_sqlite(svc):
    """Read from ix_case_tasks_state_due (every completed task with a due time, once per case), the
    backfill grew with the square of the cases: 220 s for 10,358 (docs/performance.md)."""
    with svc.db.write_engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            pytest.skip("the plan is SQLite's; PostgreSQL's backfill analyzes the tables first")
        statement = insert(CaseFacts.__table__).from_select(COLUMNS, stored("sqlite"))
        sql = str(statement.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    task_reads = [step for step in plan if " case_tasks " in step]
    assert task_reads and all("(case_id=?)" in step for step in task_reads), plan
