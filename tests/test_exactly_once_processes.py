"""Exactly once across processes: a web process and a worker deliver the same thrown messages at
the same instants, and two processes push the same idempotency keys at once (tests/racers.py runs
their parts). ``CONCURRENCY_REPEATS`` rounds each."""
from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import select

from engine.cases import CaseService
from engine.models import Case, CaseEvent, MessageOutbox, MessageReceipt

from . import racers
from .conftest import REPEATS, deploy, integrity_errors

pytestmark = pytest.mark.usefixtures("verify_all_cases")

VILLAGE = "/macheng/songbu/songbu-yangjiawan/"
SPAWN = multiprocessing.get_context("spawn")  # fresh interpreters: no connection inherited from the test


def race(target, args_by_role: dict[str, tuple]) -> dict[str, list]:
    """Run ``target`` in one process per role, rounds released together; each role's outcomes."""
    barrier, results = SPAWN.Barrier(len(args_by_role)), SPAWN.Queue()
    processes = [SPAWN.Process(target=target, args=(role, *args, barrier, results))
                 for role, args in args_by_role.items()]
    for process in processes:
        process.start()
    outcomes, lines = {}, []
    for _ in processes:
        role, got, logged = results.get(timeout=300)
        outcomes[role] = got
        lines += logged
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert not integrity_errors(lines), lines
    return outcomes


def test_a_web_process_and_a_worker_delivering_the_same_rows_start_one_case_each(svc, db_url, monkeypatch):
    deploy(svc, "t_convert.bpmn", "t_lead_start.bpmn")
    monkeypatch.setattr(CaseService, "_dispatch_after_commit", lambda self, ids: None)  # the racers deliver
    senders = [svc.cases.start("t_convert", {"summary": f"线索{i}", "source_ref": f"p{i}"}, "grid", VILLAGE)
               for i in range(REPEATS)]
    with svc.db.read() as session:
        row_ids = list(session.scalars(select(MessageOutbox.id).order_by(MessageOutbox.id)))
    at = svc.clock.now().isoformat()
    outcomes = race(racers.deliver_outbox_rows, {"web": (db_url, at, row_ids), "worker": (db_url, at, row_ids)})
    assert outcomes == {"web": [None] * REPEATS, "worker": [None] * REPEATS}
    with svc.db.read() as session:
        started = session.scalars(select(Case).where(Case.process_key == "t_lead_start")).all()
        assert sorted(c.data["source_ref"] for c in started) == sorted(s.case.data["source_ref"] for s in senders)
        for row_id in row_ids:
            receipt = session.get(MessageReceipt, f"outbox:{row_id}")
            assert len(receipt.case_ids) == 1
            assert session.get(MessageOutbox, row_id).state == "delivered"


def test_two_processes_pushing_the_same_keys_get_the_same_answers(svc, db_url):
    deploy(svc, "t_message.bpmn")
    cases = [svc.cases.start("t_message", {}, "tester", VILLAGE).case for _ in range(REPEATS)]
    case_nos = [c.case_no for c in cases]
    at = svc.clock.now().isoformat()
    outcomes = race(racers.deliver_same_keys, {"one": (db_url, at, case_nos), "two": (db_url, at, case_nos)})
    expected = [[c.id] for c in cases]
    assert outcomes == {"one": expected, "two": expected}
    with svc.db.read() as session:
        delivered = session.scalars(select(CaseEvent.case_id).where(CaseEvent.type == "message_delivered")).all()
    assert sorted(delivered) == sorted(c.id for c in cases)
