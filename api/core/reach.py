"""``case_reach``: for each case, the keys that say who may see it, kept with every change of the
case (an engine write hook, like ``case_facts``), so a list or count below the city reads ONE index
range of this table instead of a union of case-id sets built at each request (issue #19: a town
officer's scope was a set of ~55,000 ids at 10,000 cases, built twice a page).

One row per (case, kind, role, key), the ways into a case of ``scope.case_in_scope``:

* ``path``: the case's own unit path and the unit path of each of its tasks (a caller whose unit
  is a prefix of it sees the case: its area, or a task sent to its unit);
* ``offer``: the lane role and unit path of each task with a role (offered to holders of that role
  at that unit; the scope asks for the caller's roles at the units above it);
* ``user``: each task's assignee;
* ``watch``: each ``watchers`` value of the case's indexed fields (``role@unit``).

``role`` is '' except in ``offer`` rows. The rows are computed from the live tables by SQL, in the
case's transaction (``refresh``), and for a range of case ids (``backfill``, migration 0022 and the
scale bench's build); tests/test_case_reach.py checks both against each other after every kind of
change.
"""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import (Connection, Index, PrimaryKeyConstraint, String, bindparam, delete, func, insert, literal, select,
                        text, union)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import analyze
from engine.models import Base, BigId, Case, CaseField, CaseTask

from . import services


class CaseReach(Base):
    __tablename__ = "case_reach"
    __table_args__ = (PrimaryKeyConstraint("case_id", "kind", "role", "key"),
                      # the scope's lookups: a unit path prefix, or (role, unit) / user / watcher equality
                      Index("ix_case_reach_lookup", "kind", "role", "key", "case_id",
                            postgresql_ops={"key": "text_pattern_ops"}))

    case_id: Mapped[int] = mapped_column(BigId)
    kind: Mapped[str] = mapped_column(String(8))
    role: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(400))


COLUMNS = ("case_id", "kind", "role", "key")


def _rows(first, last):
    """The reach rows of the cases whose id lies in [first, last] (bind parameters or values)."""
    def between(column):
        return column.between(first, last)
    blank = literal("")
    return union(
        select(Case.id, literal("path"), blank, Case.jurisdiction).where(between(Case.id),
                                                                         Case.jurisdiction.is_not(None)),
        select(CaseTask.case_id, literal("path"), blank, CaseTask.jurisdiction)
        .where(between(CaseTask.case_id), CaseTask.jurisdiction.is_not(None)),
        select(CaseTask.case_id, literal("offer"), CaseTask.role, CaseTask.jurisdiction)
        .where(between(CaseTask.case_id), CaseTask.role.is_not(None), CaseTask.jurisdiction.is_not(None)),
        select(CaseTask.case_id, literal("user"), blank, CaseTask.assignee)
        .where(between(CaseTask.case_id), CaseTask.assignee.is_not(None)),
        # ``name || ''``: the fields are read by case id, never from the (name, value) index, which
        # SQLite took without statistics and which holds every watcher of the city
        select(CaseField.case_id, literal("watch"), blank, CaseField.value)
        .where(between(CaseField.case_id), CaseField.name.concat("") == "watchers"),
    )


@lru_cache(maxsize=1)
def _refreshing():
    """The two statements of a refresh, built once (as summary.py's: building costs more than running)."""
    table = CaseReach.__table__
    first, last = bindparam("first"), bindparam("last")
    return (delete(table).where(table.c.case_id.between(first, last)),
            insert(table).from_select(COLUMNS, _rows(first, last)))


def refresh(conn: Connection, case: Case, moved_fields: frozenset = frozenset()) -> None:
    """The engine's write hook: the case's rows again, in the transaction of its change."""
    _refresh_range(conn, case.id, case.id)


def _refresh_range(conn: Connection, first: int, last: int) -> None:
    for statement in _refreshing():
        conn.execute(statement, {"first": first, "last": last})


def backfill(conn: Connection, chunk: int = 5_000) -> None:
    """Every case's rows (migration 0022, the scale bench's build), by ranges of case ids: one
    statement over all cases made SQLite sort every task and field of the city at once."""
    first, last = conn.execute(select(func.min(Case.id), func.max(Case.id))).one()
    conn.execute(delete(CaseReach.__table__))
    if first is None:
        return
    # Row counts first: after a bulk load the planner has none and may scan every task per range.
    analyze(conn, *(model.__tablename__ for model in (Case, CaseTask, CaseField)))
    for start in range(first, last + 1, chunk):
        conn.execute(_refreshing()[1], {"first": start, "last": min(start + chunk - 1, last)})


if refresh not in services.CASE_WRITES:
    services.CASE_WRITES.append(refresh)
