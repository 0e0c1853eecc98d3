"""case_reach (api/core/reach.py): the rows the write hook keeps after every kind of change of a case
(start, a step, claim, release, delegation, assignment to a unit, transfer, watchers, cancel) are a
fresh computation from the live tables; the backfill writes the same rows; and the scope read from
them (``case_in_scope(many=True)``) is, for every seeded login, exactly the scope asked of each
case's own tasks and fields (``many=False``)."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select

from api.core.auth import Principal
from api.core.models import OrgUnit, User, UserRole
from api.core.reach import COLUMNS, CaseReach, _rows, backfill
from api.core.scope import case_in_scope
from engine.models import Case

from .test_process_lead import LEAD_110
from .test_process_mediation import do, example, library, ready  # noqa: F401
from .test_stats import GUIFENG, SONGBU, YANGJIAWAN, start, triage

TOWN_DEPARTMENT = SONGBU + "songbu-sifasuo/"


def kept(svc) -> list[tuple]:
    with svc.db.read() as session:
        return sorted(tuple(row) for row in session.execute(select(CaseReach.__table__)))


def fresh(svc) -> list[tuple]:
    with svc.db.read() as session:
        return sorted(tuple(row) for row in session.execute(_rows(0, 2**62)))


def assert_fresh(svc, what: str) -> None:
    assert kept(svc) == fresh(svc), what


def logins(svc) -> list[Principal]:
    """Every seeded user as the API authenticates them."""
    with svc.db.read() as session:
        users = session.execute(select(User.id, User.username, OrgUnit.path)
                                .join(OrgUnit, OrgUnit.id == User.unit_id)).all()
        roles = {}
        for user_id, role in session.execute(select(UserRole.user_id, UserRole.role_code)):
            roles.setdefault(user_id, set()).add(role)
    return [Principal(uid, name, name, frozenset(roles.get(uid, ())), path, path) for uid, name, path in users]


def scoped(svc, principal: Principal, many: bool) -> set[int]:
    with svc.db.read() as session:
        return set(session.scalars(select(Case.id).where(case_in_scope(principal, many))))


def task(svc, cid: int, element_id: str | None = None):
    return next(t for t in ready(svc, cid) if element_id is None or t.element_id == element_id)


@pytest.fixture
def cases(svc, library, clock):  # noqa: F811
    ids = {}
    ids["a"] = start(svc, YANGJIAWAN + "songbu-yangjiawan-g1/")
    assert_fresh(svc, "start and a step")
    triage(svc, ids["a"])
    assert_fresh(svc, "steps to the town")
    ids["b"] = start(svc, GUIFENG + "guishan-guifeng-g1/")
    t = task(svc, ids["b"])
    svc.cases.claim(t.id, "village")
    assert_fresh(svc, "claim")
    svc.cases.delegate(t.id, "village", "grid")
    assert_fresh(svc, "delegate")
    svc.cases.recall(t.id, "village")
    svc.cases.unclaim(t.id, "village")
    assert_fresh(svc, "release")
    svc.cases.assign(t.id, "city", None, TOWN_DEPARTMENT, "司法所办理")
    assert_fresh(svc, "assigned to a unit")
    svc.cases.transfer(t.id, "city", "town_officer", SONGBU, "转镇办理")
    assert_fresh(svc, "transfer")
    svc.cases.claim(task(svc, ids["a"]).id, "town")
    assert_fresh(svc, "claim kept")
    # a 110 lead that is no police matter goes to its grid; the town's police liaison watches it
    ids["lead"] = svc.cases.start("lead_clue", {**LEAD_110, "handler_unit": YANGJIAWAN + "songbu-yangjiawan-g1/"},
                                  "city", YANGJIAWAN).case.id
    assert_fresh(svc, "watchers")
    do(svc, ids["lead"], "verify", {**example("lead_verify"), "lead_result": "monitor"})
    assert_fresh(svc, "watchers, a step on")
    ids["cancelled"] = start(svc, YANGJIAWAN + "songbu-yangjiawan-g2/")
    svc.cases.cancel(ids["cancelled"], "admin", "登记错误")
    assert_fresh(svc, "cancel")
    return ids


def test_the_rows_after_each_kind_of_change_are_a_fresh_computation(svc, cases):
    rows = kept(svc)
    kinds = {row[1] for row in rows}
    assert kinds == {"path", "offer", "user", "watch"}, kinds
    assert ("watch", "police_liaison@" + SONGBU) in {(row[1], row[3]) for row in rows}
    with svc.db.write_engine.begin() as conn:
        conn.execute(delete(CaseReach.__table__))
        backfill(conn, chunk=2)  # several ranges, one of them partly empty
    assert kept(svc) == rows


def test_the_scope_read_from_the_reach_is_the_scope_of_each_case(svc, cases):
    seen = 0
    for principal in logins(svc):
        many = scoped(svc, principal, many=True)
        assert many == scoped(svc, principal, many=False), principal.username
        seen += bool(many)
    assert seen >= 5
    police = next(p for p in logins(svc) if p.username == "police")
    assert cases["lead"] in scoped(svc, police, many=True)  # watched, not in its area


def test_the_backfill_reads_each_range_of_cases_by_index_on_sqlite(svc):
    """Each range of the backfill reads the tasks and fields of its cases only (as case_facts' must,
    tests/test_stats_summary.py): never a whole table per range."""
    with svc.db.write_engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            pytest.skip("the plan is SQLite's; PostgreSQL's backfill analyzes the tables first")
        statement = insert(CaseReach.__table__).from_select(COLUMNS, _rows(1, 5000))
        sql = str(statement.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    reads = [step for step in plan if " case_tasks " in step or " case_fields " in step or " cases " in step]
    assert reads and all("case_id>? AND case_id<?" in step or "rowid>? AND rowid<?" in step for step in reads), plan
