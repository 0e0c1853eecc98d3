"""``case_facts``: the KPI facts of each counted case that do not depend on the clock, one row per
case, written in the same transaction as every change of the case (an engine write hook), so the
KPIs read one row per case instead of a dozen lookups in its tasks, fields and outbox.

What it stores is ``facts.computed_facts`` (the definition, computed from the live tables) minus
what changes without a change of the case: whether a ready task is past due *now* (overdue, late
closing, late signing) and the residents' ratings (written by the resident API, not by the case).
``facts.facts`` adds those at read time; tests/test_stats_summary.py checks that both give the same KPIs.

The repeat-dispute flag (反复纠纷) is stored although *other* cases set it: ``repeat_of`` names the
earlier case that makes this one a repeat. A case's flag changes only when its own parties change
(its own refresh), when an earlier case gains one of its parties or is cancelled (that case shares
a party with it), or when its ``repeat_of`` case loses the party; so a dispute case's refresh, when
its indexed fields changed or it is cancelled, also refreshes the later cases that share a party
with it and those it is the ``repeat_of`` of. Computed
at read time it was 141 ms of a city-year's 247 ms KPI query at 100,000 cases (issue #19).
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Connection, and_, bindparam, case, delete, exists, func, insert, inspect, null, or_, select, text, update
from sqlalchemy.orm import aliased

from api.core import services
from engine.cases import index_values
from engine.db import analyze
from engine.models import Case, CaseField, CaseTask, MessageOutbox

from .facts import (CASE_PROCESSES, COUNTED_PROCESSES, FINAL_CLOSURES, FIRST_HANDLER_FORM, LEAD_NOT_COUNTED,
                    LEAD_PROCESS, LEADER_FORM, RED_REVISIT_FORM, SATISFIED, _fields_of, _one_key, repeat_of)
from .models import CaseFacts


def _flag(condition):
    return case((condition, 1), else_=0)


def stored(dialect: str, which=None):
    """The case_facts rows of the counted processes' cases (``which``: a condition on Case)."""
    cases = select(Case.id).where(Case.process_key.in_(COUNTED_PROCESSES))
    if which is not None:
        cases = cases.where(which)
    fields = _fields_of(cases)
    is_lead = Case.process_key == LEAD_PROCESS
    closure, lead_result, channel, source = (fields.c.closure_state, fields.c.lead_result, fields.c.channel,
                                             fields.c.source)
    merged = exists().where(MessageOutbox.sender_case_id == Case.id, MessageOutbox.name == "repeat_contact")
    police = exists().where(MessageOutbox.sender_case_id == Case.id, MessageOutbox.name == "police_dispatch")
    # No ``due_at IS NOT NULL`` (``closed_at > due_at`` is not true without a due time): with it, SQLite
    # read these two from ix_case_tasks_state_due (state, due_at > ?) — every completed task with a due
    # time, for each case — instead of the case's own tasks, and the backfill grew with the square of
    # the cases (220 s for 10,358).
    late_done = exists().where(CaseTask.case_id == Case.id, CaseTask.state == "completed",
                               CaseTask.closed_at > CaseTask.due_at)
    sign_late_done = exists().where(CaseTask.case_id == Case.id, CaseTask.form_key == FIRST_HANDLER_FORM,
                                    CaseTask.state == "completed", CaseTask.closed_at > CaseTask.due_at)
    signed = exists().where(CaseTask.case_id == Case.id, CaseTask.form_key == FIRST_HANDLER_FORM,
                            CaseTask.state == "completed")
    channel_key = case((or_(is_lead, channel == "lead"), func.coalesce(source, channel)), else_=channel)
    one_key, one_key_answered, one_key_in_time, one_key_seconds = _one_key(dialect)
    counted = and_(Case.status != "cancelled", or_(
        and_(Case.process_key.in_(CASE_PROCESSES), ~merged),
        and_(is_lead, or_(lead_result.is_(None), lead_result.not_in(LEAD_NOT_COUNTED)))))
    red_revisits = (select(func.count()).select_from(CaseTask)
                    .where(CaseTask.case_id == Case.id, CaseTask.form_key == RED_REVISIT_FORM,
                           CaseTask.state == "completed").scalar_subquery())
    return select(
        Case.id.label("case_id"), _flag(counted).label("counted"),
        _flag(~is_lead).label("cases"), _flag(is_lead).label("leads"),
        _flag(case((is_lead, and_(lead_result == "monitor", Case.status == "completed")),
                   else_=closure == "closed_resolved")).label("resolved"),
        _flag(case((is_lead, lead_result == "emergency"), else_=closure == "closed_transferred")).label("transferred"),
        _flag(case((is_lead, Case.status == "completed"), else_=closure.in_(FINAL_CLOSURES))).label("closed"),
        _flag(late_done).label("late_done"),
        _flag(fields.c.satisfaction.is_not(None)).label("revisited"),
        _flag(fields.c.satisfaction.in_(SATISFIED)).label("satisfied"),
        _flag(or_(police, lead_result == "emergency")).label("emergencies"),
        _flag(channel_key == "petition").label("petitions"),
        _flag(fields.c.recurrence == "True").label("recurrences"),
        _flag(one_key).label("one_key_calls"), _flag(one_key_answered).label("one_key_answered"),
        _flag(one_key_in_time).label("one_key_in_time"), one_key_seconds.label("one_key_seconds"),
        _flag(signed).label("first_signed"), _flag(sign_late_done).label("sign_late_done"),
        _flag(fields.c.risk_level == "red").label("red_cases"),
        _flag(exists().where(CaseTask.case_id == Case.id, CaseTask.form_key == LEADER_FORM,
                             CaseTask.state == "completed")).label("leader_cases"),
        red_revisits.label("red_revisits"), fields.c.category.label("category"), channel_key.label("channel"),
        case((is_lead, null()), else_=repeat_of(Case, dialect).scalar_subquery()).label("repeat_of"),
    ).select_from(Case).outerjoin(fields, fields.c.case_id == Case.id).where(Case.id.in_(cases))


COLUMNS = [column.name for column in CaseFacts.__table__.columns]


@lru_cache(maxsize=4)
def _refreshing(dialect: str):
    """The two statements of a refresh, built once (building them took longer than running them)."""
    table = CaseFacts.__table__
    return (delete(table).where(table.c.case_id == bindparam("case_id")),
            insert(table).from_select(COLUMNS, stored(dialect, Case.id == bindparam("case_id"))))


def _repeats_of_others(dialect: str, which):
    """``repeat_of`` again for the non-lead cases ``which`` selects (a condition on case_facts)."""
    table = CaseFacts.__table__
    subject = aliased(Case)
    again = repeat_of(subject, dialect).where(subject.id == table.c.case_id).scalar_subquery()
    return update(table).where(table.c.leads == 0, which).values(repeat_of=again)


@lru_cache(maxsize=4)
def _later_repeats(dialect: str):
    """The later cases whose flag a change of the dispute case ``changed`` may set or unset: those
    sharing one of its parties now, and those it made repeats of (it may have lost that party).
    Two statements, each an index lookup: as one ``IN … OR repeat_of = …`` PostgreSQL read the whole
    table (40 ms at 100,000 cases, task completion 43 → 95 ms p95 in the scale bench)."""
    table = CaseFacts.__table__
    mine, theirs = aliased(CaseField), aliased(CaseField)
    sharing = select(theirs.case_id).where(
        mine.case_id == bindparam("changed"), mine.name == "party_hash",
        theirs.name == "party_hash", theirs.value == mine.value, theirs.case_id > bindparam("changed"))
    return (_repeats_of_others(dialect, table.c.case_id.in_(sharing)),
            _repeats_of_others(dialect, table.c.repeat_of == bindparam("changed")))


# Two cases sharing a party, changed at once on PostgreSQL, would each compute the other's flag
# without seeing the other's change; a transaction lock per party hash orders them. SQLite
# serialises writers already.
_PARTY_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(:party))")


def refresh(conn: Connection, case: Case, moved_fields: frozenset[tuple[str, str]] = frozenset()) -> None:
    """The engine's write hook: the case's row again, in the transaction of its change, and, when
    its indexed fields moved (``moved_fields``: the pairs added or removed) or it is cancelled, the
    repeat flags of the later cases that share its parties or that it made repeats."""
    if case.process_key not in COUNTED_PROCESSES:
        return
    dialect = conn.dialect.name
    dispute = case.process_key in CASE_PROCESSES
    if dispute and dialect == "postgresql":
        # The parties it has and those it lost (a data correction): both change other cases' flags.
        parties = {value for name, value in index_values(case.data or {}, ()) | moved_fields if name == "party_hash"}
        for party in sorted(parties):
            conn.execute(_PARTY_LOCK, {"party": party})
    for statement in _refreshing(dialect):
        conn.execute(statement, {"case_id": case.id})
    if dispute and (moved_fields or case.status == "cancelled"):
        for statement in _later_repeats(dialect):
            conn.execute(statement, {"changed": case.id})


def backfill(conn: Connection) -> None:
    """Every counted case's row (migration 0021, the scale bench's build)."""
    table = CaseFacts.__table__
    conn.execute(delete(table))
    analyze(conn, *(model.__tablename__ for model in (Case, CaseTask, CaseField, MessageOutbox)))
    rows, columns = stored(conn.dialect.name), COLUMNS
    existing = {column["name"] for column in inspect(conn).get_columns(table.name)}
    if not existing.issuperset(COLUMNS):  # migration 0021: the table as it was before the later columns
        columns = [name for name in COLUMNS if name in existing]
        written = rows.subquery()
        rows = select(*[written.c[name] for name in columns])
    conn.execute(insert(table).from_select(columns, rows))


def backfill_repeats(conn: Connection) -> None:
    """``repeat_of`` again for every case that shares a party with an earlier case (migration 0025):
    one join of the party hashes finds them, and only their rows are written."""
    table = CaseFacts.__table__
    mine, theirs = aliased(CaseField), aliased(CaseField)
    sharing = select(theirs.case_id).where(mine.name == "party_hash", theirs.name == "party_hash",
                                           theirs.value == mine.value, theirs.case_id > mine.case_id)
    conn.execute(_repeats_of_others(conn.dialect.name, table.c.case_id.in_(sharing)))


if refresh not in services.CASE_WRITES:
    services.CASE_WRITES.append(refresh)
