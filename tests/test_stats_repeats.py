"""反复纠纷 kept with the cases (``case_facts.repeat_of``, api/stats/summary.py): a case's flag is set
and unset by the changes of the *earlier* case that shares its party — it gains the party, it is
cancelled — and by the 90-day window, always equal to the definition computed from the live tables
(``facts.repeat_of``); two cases of one party changed at the same instant still agree with it."""
from __future__ import annotations

import random

from sqlalchemy import event, select

from api.stats.facts import repeat_of
from api.stats.models import CaseFacts
from api.stats.summary import _later_repeats, backfill_repeats
from cunliao.demo.groundwork import id_no
from engine.models import Case

from .conftest import REPEATS
from .test_exactly_once import together
from .test_process_mediation import do, library  # noqa: F401
from .test_stats import YANGJIAWAN, start

GRID = YANGJIAWAN + "songbu-yangjiawan-g1/"
PARTIES = [{"role": "申请人", "name": "张某", "id_no": "42118119800101123X"}, {"role": "被申请人", "name": "李某"}]


def unregistered(svc) -> int:
    """A dispute case started by the grid worker whose 登记 (and so its parties) is not yet done."""
    return svc.cases.start("dispute_intake", {}, "grid", GRID).case.id


def kept(svc) -> dict[int, int | None]:
    """Each dispute case's stored ``repeat_of``, after checking it is the definition's."""
    with svc.db.read() as session:
        dialect = session.get_bind().dialect.name
        defined = dict(session.execute(select(Case.id, repeat_of(Case, dialect).scalar_subquery())
                                       .where(Case.process_key == "dispute_intake")).all())
        stored = dict(session.execute(select(CaseFacts.case_id, CaseFacts.repeat_of)
                                      .where(CaseFacts.case_id.in_(defined))).all())
    assert stored == defined
    return stored


def test_the_earlier_case_sets_and_unsets_the_flag_of_the_later(svc, library, clock):  # noqa: F811
    earlier = unregistered(svc)
    later = start(svc, GRID, parties=PARTIES)
    assert kept(svc)[later] is None                       # the earlier case has no party yet
    do(svc, earlier, "register", parties=PARTIES)
    assert kept(svc)[later] == earlier                    # it gained the party: the later one repeats it
    third = start(svc, GRID, parties=PARTIES)
    assert kept(svc)[third] == earlier
    svc.cases.cancel(earlier, "grid", "登记有误")
    flags = kept(svc)
    assert flags[later] is None and flags[third] == later  # a cancelled registration makes no repeat
    clock.advance(days=91)
    beyond = start(svc, GRID, parties=PARTIES)
    assert kept(svc)[beyond] is None                      # more than 90 days on: a new dispute


def test_the_migration_backfill_writes_what_the_changes_kept(svc, library):  # noqa: F811
    earlier = start(svc, GRID, parties=PARTIES)
    later = start(svc, GRID, parties=PARTIES)
    before = kept(svc)
    with svc.db.write_engine.begin() as conn:
        conn.execute(CaseFacts.__table__.update().values(repeat_of=None))
        backfill_repeats(conn)
    assert kept(svc) == before and before[later] == earlier


def test_two_cases_of_one_party_changed_at_once_agree_with_the_definition(svc, library):  # noqa: F811
    """The earlier case gains the party while the later one moves on: on PostgreSQL each would
    compute the later case's flag without the other's change, but for the lock on the party."""
    rng = random.Random(19)
    for _ in range(REPEATS):
        parties = [{**PARTIES[0], "id_no": id_no(rng, 1980)}]  # a party of its own each round
        earlier = unregistered(svc)
        later = start(svc, GRID, parties=parties)
        results = together(lambda: do(svc, earlier, "register", parties=parties), lambda: do(svc, later, "notice"))
        assert not [r for r in results if isinstance(r, Exception)], results
        assert kept(svc)[later] == earlier


def test_a_correction_that_removes_the_party_unsets_the_flag(svc, library):  # noqa: F811
    earlier = start(svc, GRID, parties=PARTIES)
    later = start(svc, GRID, parties=PARTIES)
    assert kept(svc)[later] == earlier
    other = [{**PARTIES[0], "id_no": id_no(random.Random(7), 1975)}]
    svc.cases.correct_data(earlier, {"parties": other}, "admin", "申请人身份证号登记错误")
    assert kept(svc)[later] is None


def test_a_correction_and_the_later_case_changed_at_once_agree_with_the_definition(svc, library):  # noqa: F811
    """The earlier case loses the party (an admin's correction) while the later one moves on: the
    correction locks the party it removed as well as the one it adds."""
    rng = random.Random(23)
    for _ in range(REPEATS):
        parties = [{**PARTIES[0], "id_no": id_no(rng, 1980)}]
        other = [{**PARTIES[0], "id_no": id_no(rng, 1990)}]
        earlier = start(svc, GRID, parties=parties)
        later = start(svc, GRID, parties=parties)
        results = together(lambda: svc.cases.correct_data(earlier, {"parties": other}, "admin", "身份证号登记错误"),
                           lambda: do(svc, later, "notice"))
        assert not [r for r in results if isinstance(r, Exception)], results
        assert kept(svc)[later] is None


def test_the_later_cases_are_found_by_index_not_by_reading_the_table(svc):
    """A dispute case's change refreshes a handful of rows: as one ``IN … OR repeat_of = …``
    condition PostgreSQL read all of case_facts for them (40 ms a change at 100,000 cases)."""
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    with svc.db.write_engine.connect() as conn:
        explain = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
        with conn.begin() as transaction:
            if conn.dialect.name == "postgresql":  # a tiny table is read whole anyway: is there another way?
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            event.listen(conn, "before_cursor_execute", record)
            for statement in _later_repeats(conn.dialect.name):
                conn.execute(statement, {"changed": 1})
            event.remove(conn, "before_cursor_execute", record)
            plans = [" ".join(str(row[-1]) for row in conn.exec_driver_sql(explain + sql, parameters))
                     for sql, parameters in sent]
            transaction.rollback()
    assert len(plans) == 2
    for plan in plans:
        assert "SCAN case_facts" not in plan and "Seq Scan on case_facts" not in plan, plan
