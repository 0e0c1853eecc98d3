"""Verify every case in one pass over the event log: hash chains and state seals, no replay.

Replaying a case re-runs its workflow (milliseconds per case); checking it against its seal hashes
its events and its row once (tens of microseconds per event). The last event of every transaction
seals the case row it commits (``audit.state_seal``) and the chain covers that seal, so an intact
chain whose last seal matches the row proves the row is the one the engine last wrote. What replay
adds — that the engine computed that state correctly from those events — is left to a sample and to
the single-case verify; a case with no seal (last written before seals existed) still needs it.

The sweep reads the cases and their events a batch of case ids at a time, ordered by (case_id,
seq), inside one snapshot: REPEATABLE READ on PostgreSQL (shareable with other processes through
``pg_export_snapshot``), SQLite's read transaction on SQLite. A case written while the sweep runs
is then seen as it was, with its events and its row from the same instant.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby
from typing import Iterable, Iterator

from sqlalchemy import Connection, Engine, bindparam, select, text

from .files import FileStore
from .models import Case, CaseEvent
from .replay import EventRecord
from .verify import Verdict, check_chain, check_seal, verify_sealed_files

BATCH = 500   # case ids per read: a batch's states and events are a few MB

_cases, _events = Case.__table__, CaseEvent.__table__
_CASES = (select(_cases.c.id, _cases.c.case_no, _cases.c.definition_id, _cases.c.status, _cases.c.data,
                 _cases.c.incident, _cases.c.state, _cases.c.event_seq, _cases.c.chain_head)
          .where(_cases.c.id >= bindparam("lo"), _cases.c.id <= bindparam("hi")).order_by(_cases.c.id))
_EVENTS = (select(_events.c.case_id, _events.c.seq, _events.c.type, _events.c.actor, _events.c.at,
                  _events.c.payload, _events.c.prev_hash, _events.c.hash)
           .where(_events.c.case_id >= bindparam("lo"), _events.c.case_id <= bindparam("hi"))
           .order_by(_events.c.case_id, _events.c.seq, _events.c.id))


@dataclass
class Checked:
    """One case as swept: its verdict, and what a replay of it would need."""
    verdict: Verdict
    case: Case                  # detached, from the row
    events: list[EventRecord]


@contextmanager
def snapshot(engine: Engine, shared: str | None = None) -> Iterator[tuple[Connection, str | None]]:
    """A read-only connection in one snapshot, and the snapshot's id for other processes (PostgreSQL);
    ``shared``: join that exported snapshot instead of taking a new one."""
    if engine.dialect.name != "postgresql":
        with engine.connect() as conn, conn.begin():
            yield conn, None
        return
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        if shared:
            conn.execute(text(f"SET TRANSACTION SNAPSHOT '{_snapshot_id(shared)}'"))
        conn.execute(text("SET TRANSACTION READ ONLY"))
        exported = shared or conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        yield conn, exported


def _snapshot_id(value: str) -> str:
    """SET TRANSACTION SNAPSHOT takes no bind parameter: the id is checked to be an id (hex, dashes)."""
    if not value.replace("-", "").isalnum():
        raise ValueError(f"not a snapshot id: {value!r}")
    return value


def batches(conn: Connection, size: int = BATCH) -> list[tuple[int, int]]:
    """The case ids as inclusive ranges of ``size`` cases each, in id order."""
    ids = conn.execute(select(_cases.c.id).order_by(_cases.c.id)).scalars().all()
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def sweep(conn: Connection, ranges: Iterable[tuple[int, int]], files: FileStore | None = None) -> Iterator[Checked]:
    """Each case of the ranges, checked: chain, seal and (with ``files``) its sealed documents.
    ``verdict.sealed`` False: the case has no seal, only replay can check its row."""
    for lo, hi in ranges:
        rows = conn.execute(_CASES, {"lo": lo, "hi": hi}).all()
        logged = {case_id: list(group) for case_id, group in
                  groupby(conn.execute(_EVENTS, {"lo": lo, "hi": hi}).all(), key=lambda r: r.case_id)}
        for row in rows:
            yield check(Case(**row._mapping), logged.get(row.id, []), files)


def check(case: Case, rows: list, files: FileStore | None) -> Checked:
    events = [EventRecord(r.seq, r.type, r.actor, r.at, r.payload) for r in rows]
    verdict = Verdict(True, case.case_no, len(events), case.chain_head)
    bad, reason = check_chain(case.id, events, [(r.prev_hash, r.hash) for r in rows], case.chain_head,
                              case.event_seq)
    if bad is not None:
        verdict.ok, verdict.first_bad_event, verdict.reason = False, bad, reason
    else:
        check_seal(verdict, case, events)
    if verdict.ok and files is not None:
        verify_sealed_files(verdict, events, files)
    return Checked(verdict, case, events)
