"""Writing a command's outcome: one short transaction, Core statements only.

A command computes everything it will write (``Change``) from a snapshot read without locks, then
writes it here. The case row's UPDATE checks the version the snapshot had, so when two commands
race on one case exactly one write lands and the other raises Conflict having written nothing.
Keeping the engine work outside the transaction keeps SQLite's single write lock short.

What must happen once (a message's delivery, an intake's case) claims its unique key inside the
same transaction with ``insert_once``: of two commands racing for the key, the second inserts
nothing and raises AlreadyDone, so its whole write rolls back and no unique-violation error is
ever raised or logged.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator

from sqlalchemy import Connection, Table, bindparam, delete, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

from . import audit
from .errors import AlreadyDone, Stale
from .models import (Case, CaseCounter, CaseEvent, CaseField, CaseTask, MessageOutbox, MessageReceipt, MessageWait,
                     PendingTimer)

CASE_COLUMNS = ("status", "state", "data", "incident", "updated_at", "completed_at", "jurisdiction", "title",
                "definition_id", "first_handler")

# Statements are built once: building and cache-keying them per call cost more than running them.
_cases, _tasks, _events = Case.__table__, CaseTask.__table__, CaseEvent.__table__
_UPDATE_CASE = (update(_cases)
                .where(_cases.c.id == bindparam("case_id"), _cases.c.version == bindparam("expected"))
                .values({c: bindparam(c) for c in CASE_COLUMNS + ("version", "event_seq", "chain_head")}))
_SET_CHAIN = (update(_cases).where(_cases.c.id == bindparam("case_id"))
              .values(event_seq=bindparam("event_seq"), chain_head=bindparam("chain_head")))
_CLOSE_TASK = (update(_tasks).where(_tasks.c.id == bindparam("task_id"))
               .values(state=bindparam("state"), closed_at=bindparam("closed_at"), closed_by=bindparam("closed_by")))
# inline: no implicit RETURNING of a single row's new id (nobody reads it, and it could not be read
# in a pipeline: ``pipelined``)
_INSERT = {model: insert(model.__table__).inline() for model in (CaseTask, CaseEvent, PendingTimer, MessageWait,
                                                                 CaseField)}
_INSERT_OUTBOX = insert(MessageOutbox.__table__).returning(MessageOutbox.__table__.c.id, sort_by_parameter_order=True)
_NEW_CASE_COLUMNS = CASE_COLUMNS + ("case_no", "process_key", "version", "event_seq", "chain_head", "created_by",
                                    "created_at")
_INSERT_CASE = insert(_cases).values({c: bindparam(c) for c in _NEW_CASE_COLUMNS}).returning(_cases.c.id)
_counters = CaseCounter.__table__
_timers, _waits, _fields = PendingTimer.__table__, MessageWait.__table__, CaseField.__table__
_DROP_TIMERS = delete(_timers).where(_timers.c.id.in_(bindparam("ids", expanding=True)))
_DROP_WAITS = delete(_waits).where(_waits.c.id.in_(bindparam("ids", expanding=True)))
_DROP_FIELDS = delete(_fields).where(_fields.c.case_id == bindparam("case_id"))
# The day's next case number, in one statement (the row is locked until the case commits).
_NEXT_NUMBER = {name: dialect.insert(_counters).values(day=bindparam("day"), last=1)
                .on_conflict_do_update(index_elements=["day"], set_={"last": _counters.c.last + 1})
                .returning(_counters.c.last)
                for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))}


@dataclass
class NewEvent:
    type: str
    actor: str
    at: datetime
    payload: dict[str, Any]


@dataclass
class Change:
    case: Case                      # detached snapshot, already carrying the new values
    expected_version: int | None    # None: the case is new
    events: list[NewEvent] = field(default_factory=list)
    closed_tasks: dict[str, str] = field(default_factory=dict)   # task id -> completed | cancelled
    new_tasks: list[dict[str, Any]] = field(default_factory=list)
    dropped_timers: list[str] = field(default_factory=list)
    new_timers: list[dict[str, Any]] = field(default_factory=list)
    dropped_waits: list[str] = field(default_factory=list)
    new_waits: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)           # filled in by write()
    receipt: dict[str, Any] | None = None   # the delivered message's key: claimed once, or AlreadyDone
    fields: list[tuple[str, str]] | None = None   # the case's indexed fields, when they changed
    moved_fields: frozenset[tuple[str, str]] = frozenset()   # the indexed pairs it added or removed
    # The caller's own rows that must commit with the case or not at all (an intake record, the
    # notifications of a task action): called with the connection and the written case.
    also: list[Callable[[Connection, Case], None]] = field(default_factory=list)
    # Writes whose answers nobody reads (the engine's on_write hook: the app's per-case summaries),
    # sent with the events and index rows, in the same round trip on PostgreSQL.
    # Called with the connection, the case and the indexed (name, value) pairs the change added or
    # removed (empty when they are as they were).
    unread: list[Callable[[Connection, Case, frozenset[tuple[str, str]]], None]] = field(default_factory=list)
    actor: str = ""
    at: datetime | None = None


def write(conn: Connection, change: Change, case_prefix: str) -> None:
    case = change.case
    if change.expected_version is None:
        _insert_case(conn, case, case_prefix)
        rows = _event_rows(case, change.events)
        conn.execute(_SET_CHAIN, {"case_id": case.id, "event_seq": case.event_seq, "chain_head": case.chain_head})
    else:
        rows = _event_rows(case, change.events)
        _update_case(conn, case, change.expected_version)
    if change.receipt is not None:
        _claim_receipt(conn, case, change.receipt)
    if change.outbox:
        change.outbox_ids = list(conn.execute(_INSERT_OUTBOX, [{**row, "sender_case_id": case.id, "state": "pending"}
                                                               for row in change.outbox]).scalars())
    with pipelined(conn):
        _write_rows(conn, change, rows)
        for write_unread in change.unread:
            write_unread(conn, case, change.moved_fields)
    for write_also in change.also:
        write_also(conn, case)


def _write_rows(conn: Connection, change: Change, rows: list[dict[str, Any]]) -> None:
    """The statements whose answers nobody reads: the events and the index rows."""
    case = change.case
    if rows:
        conn.execute(_INSERT[CaseEvent], rows)
    if change.closed_tasks:
        conn.execute(_CLOSE_TASK, [{"task_id": task_id, "state": state, "closed_at": change.at,
                                    "closed_by": change.actor} for task_id, state in change.closed_tasks.items()])
    if change.new_tasks:
        conn.execute(_INSERT[CaseTask], [{**row, "case_id": case.id} for row in change.new_tasks])
    if change.dropped_timers:
        conn.execute(_DROP_TIMERS, {"ids": change.dropped_timers})
    if change.new_timers:
        conn.execute(_INSERT[PendingTimer], [{**row, "case_id": case.id} for row in change.new_timers])
    if change.dropped_waits:
        conn.execute(_DROP_WAITS, {"ids": change.dropped_waits})
    if change.new_waits:
        conn.execute(_INSERT[MessageWait], [{**row, "case_id": case.id} for row in change.new_waits])
    if change.fields is not None:
        conn.execute(_DROP_FIELDS, {"case_id": case.id})
        if change.fields:
            conn.execute(_INSERT[CaseField], [{"case_id": case.id, "name": n, "value": v} for n, v in change.fields])


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, send the block's statements in one round trip (psycopg's pipeline mode)
    instead of one each: the client does not wait for an answer before sending the next statement.
    Only for statements whose results are not read (no RETURNING, no rowcount): SQLAlchemy reads a
    result as soon as it sends the statement, before the pipeline has the answer. An error in the
    block is raised when the pipeline ends, as SQLAlchemy's own exception for it (IntegrityError …),
    and the transaction rolls back as for any failed statement."""
    if conn.dialect.name != "postgresql":
        yield
        return
    import psycopg  # PostgreSQL's driver: only where it is the database

    driver = conn.connection.driver_connection
    try:
        with driver.pipeline():
            yield
    except psycopg.Error as exc:
        raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc


def insert_once(conn: Connection, table: Table, values: dict[str, Any], key: list[str], where: Any = None) -> Any:
    """Insert a row unless its unique ``key`` (with ``where``: a partial unique index) is taken;
    the new row's primary key, or None.

    ON CONFLICT DO NOTHING: on PostgreSQL the second of two racing inserts waits for the first
    transaction and then inserts nothing; SQLite's write lock already serialises them."""
    dialect: Callable = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    [primary] = table.primary_key.columns
    statement = (dialect(table).values(**values).on_conflict_do_nothing(index_elements=key, index_where=where)
                 .returning(primary))
    return conn.execute(statement).scalar()


def _claim_receipt(conn: Connection, case: Case, receipt: dict[str, Any]) -> None:
    key = receipt["idempotency_key"]
    if insert_once(conn, MessageReceipt.__table__, {**receipt, "case_ids": [case.id]}, ["idempotency_key"]) is None:
        raise AlreadyDone(f"message '{receipt['name']}' with key '{key}' was already delivered", key=key)


_BUMP_CASE = (update(_cases).where(_cases.c.id == bindparam("case_id"), _cases.c.version == bindparam("expected"))
              .values(version=bindparam("version"), event_seq=bindparam("event_seq"), chain_head=bindparam("chain_head"),
                      updated_at=bindparam("updated_at")))


def append_events(conn: Connection, case: Case, events: list[NewEvent]) -> None:
    """Events that leave the workflow as it is (claims, comments …), still under the version check."""
    expected = case.version
    rows = _event_rows(case, events)
    result = conn.execute(_BUMP_CASE, {"case_id": case.id, "expected": expected, "version": expected + 1,
                                       "event_seq": case.event_seq, "chain_head": case.chain_head,
                                       "updated_at": events[-1].at})
    if result.rowcount != 1:
        raise Stale("the case was changed by someone else at the same time; reload and try again")
    case.version = expected + 1
    conn.execute(_INSERT[CaseEvent], rows)


def _insert_case(conn: Connection, case: Case, case_prefix: str) -> None:
    case.case_no = next_case_no(conn, case.created_at, case_prefix)
    case.version, case.event_seq, case.chain_head = 1, 0, ""
    case.id = conn.execute(_INSERT_CASE, {c: getattr(case, c) for c in _NEW_CASE_COLUMNS}).scalar_one()


def _update_case(conn: Connection, case: Case, expected_version: int) -> None:
    values = {c: getattr(case, c) for c in CASE_COLUMNS}
    values.update(case_id=case.id, expected=expected_version, version=expected_version + 1,
                  event_seq=case.event_seq, chain_head=case.chain_head)
    result = conn.execute(_UPDATE_CASE, values)
    if result.rowcount != 1:
        raise Stale("the case was changed by someone else at the same time; reload and try again")
    case.version = expected_version + 1


def _event_rows(case: Case, events: list[NewEvent]) -> list[dict[str, Any]]:
    """Chain the events onto the case's head; advances case.event_seq and case.chain_head. ``case``
    already carries the values this transaction writes, so the last event seals them."""
    rows = []
    seq, head = case.event_seq, case.chain_head or audit.GENESIS
    for position, event in enumerate(events, start=1):
        if event.type == "case_started":
            event.payload["case_no"] = case.case_no
        payload = audit.jsonable(event.payload)
        if position == len(events):  # the transaction's last event seals the row it commits
            payload[audit.SEAL_KEY] = audit.case_seal(case)
        seq += 1
        digest = audit.event_hash(head, case.id, seq, event.type, event.actor, event.at, payload)
        rows.append({"case_id": case.id, "seq": seq, "type": event.type, "actor": event.actor, "at": event.at,
                     "payload": payload, "prev_hash": head, "hash": digest})
        head = digest
    case.event_seq, case.chain_head = seq, head
    return rows


def next_case_no(conn: Connection, now: datetime, prefix: str) -> str:
    day = now.strftime("%Y%m%d")
    number = conn.execute(_NEXT_NUMBER[conn.dialect.name], {"day": day}).scalar_one()
    return f"{prefix}-{day}-{number:04d}"
