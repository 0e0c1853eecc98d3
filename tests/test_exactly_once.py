"""Exactly once: every thrown message, message start and timer firing lands once, and a command's
answer tells what it stored, however deliverers race (threads here; processes in
test_exactly_once_processes.py).

Races are repeated ``CONCURRENCY_REPEATS`` times (see conftest): a few in ``make test``, 100 by hand.
"""
from __future__ import annotations

import logging
import sys
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine.cases import CaseService
from engine.errors import Conflict, NotFound
from engine.models import Case, CaseEvent, MessageOutbox, MessageReceipt

from .conftest import REPEATS, deploy, integrity_errors

pytestmark = pytest.mark.usefixtures("verify_all_cases")

VILLAGE = "/macheng/songbu/songbu-yangjiawan/"


def count(svc, model, *where) -> int:
    with svc.db.read() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def together(*calls):
    """Run the calls in threads released at one instant; returns each call's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 (the test inspects what each racer got)
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def before_first_call(monkeypatch, svc, method: str, rival) -> list:
    """The other side of a race, landing in between: ``rival`` (given a second CaseService on the
    same database) runs just before svc.cases' first call of ``method``. The list says it ran."""
    other = CaseService(svc.db, svc.registry, svc.clock, svc.roles.resolve, svc.deadlines)
    original = getattr(CaseService, method)
    raced = []

    def racing(self, *args, **kwargs):
        if self is svc.cases and not raced:
            raced.append(True)
            rival(other)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CaseService, method, racing)
    return raced


def unsettled_row(svc, sender_id: int) -> MessageOutbox:
    with svc.db.read() as session:
        return session.scalars(select(MessageOutbox).where(MessageOutbox.sender_case_id == sender_id)).one()


@pytest.fixture
def converting(svc, monkeypatch):
    """t_convert throws lead_converted as it starts; t_lead_start starts on it. Immediate dispatch
    is held back, so the test decides who delivers."""
    deploy(svc, "t_convert.bpmn", "t_lead_start.bpmn")
    monkeypatch.setattr(CaseService, "_dispatch_after_commit", lambda self, ids: None)
    return svc


def test_the_same_outbox_row_from_two_threads_starts_one_case(converting):
    svc = converting
    for round_ in range(REPEATS):
        sender = svc.cases.start("t_convert", {"summary": f"线索{round_}", "source_ref": f"r{round_}"}, "grid", VILLAGE)
        row = unsettled_row(svc, sender.case.id)
        outcomes = together(lambda: svc.cases.dispatch_one(row), lambda: svc.cases.dispatch_one(row))
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        with svc.db.read() as session:
            receipt = session.get(MessageReceipt, f"outbox:{row.id}")
            started = session.scalars(select(Case).where(Case.process_key == "t_lead_start",
                                                         Case.data["source_ref"].as_string() == f"r{round_}")).all()
            assert [c.id for c in started] == receipt.case_ids
            settled = session.get(MessageOutbox, row.id)
            assert settled.state == "delivered" and settled.outcome == f"delivered to {started[0].case_no}"
    assert count(svc, Case, Case.process_key == "t_lead_start") == REPEATS


def test_a_deliverer_that_loses_the_race_to_a_message_start_does_nothing(converting, monkeypatch):
    """The other deliverer commits while this one works out its start: this one's write conflicts."""
    svc = converting
    sender = svc.cases.start("t_convert", {"summary": "线索", "source_ref": "r1"}, "grid", VILLAGE)
    row = unsettled_row(svc, sender.case.id)
    raced = before_first_call(monkeypatch, svc, "_start", lambda other: other.dispatch_one(row))
    svc.cases.dispatch_one(row)
    assert raced and count(svc, Case, Case.process_key == "t_lead_start") == 1
    with svc.db.read() as session:
        [receipt] = session.scalars(select(MessageReceipt))
        assert receipt.idempotency_key == f"outbox:{row.id}"


def test_same_key_pairs_all_answer_the_first_outcome(svc):
    """Two requests with one idempotency key, at once: both get the case the message reached,
    never 404 because the winner's delivery made the case stop waiting."""
    deploy(svc, "t_message.bpmn")
    for round_ in range(REPEATS):
        case = svc.cases.start("t_message", {}, "tester", VILLAGE)
        key = f"k{round_}"

        def push():
            return svc.cases.deliver_message("outcome_submitted", {"case_no": case.case.case_no},
                                             {"result": "已反馈"}, key, "dept")
        outcomes = together(push, push)
        answered = [[v.case.id for v in o] for o in outcomes if not isinstance(o, Exception)]
        assert answered == [[case.case.id]] * 2, outcomes
        assert count(svc, CaseEvent, CaseEvent.case_id == case.case.id, CaseEvent.type == "message_delivered") == 1


def test_a_same_key_repeat_after_the_case_stopped_waiting_gets_the_first_answer(svc, monkeypatch):
    """The loser read no receipt, then the winner committed: the case no longer waits (NotFound on
    the losing path) — the receipt is read again and its answer returned."""
    deploy(svc, "t_message.bpmn")
    case = svc.cases.start("t_message", {}, "tester", VILLAGE)
    raced = before_first_call(monkeypatch, svc, "_receiver", lambda other: other.deliver_message(
        "outcome_submitted", {"case_no": case.case.case_no}, {"result": "赢家"}, "k", "dept"))
    [view] = svc.cases.deliver_message("outcome_submitted", {"case_no": case.case.case_no}, {"result": "输家"}, "k",
                                       "dept")
    assert raced and view.case.id == case.case.id and view.case.data["result"] == "赢家"


def test_a_message_naming_a_case_that_no_longer_waits_is_a_dead_letter_not_a_new_case(svc, client, login):
    """A conversion message for a lead that no longer waits: recorded as undeliverable, no case
    started in its place (its name has a message start, but it names its receiver)."""
    deploy(svc, "t_lead_start.bpmn", "t_throw.bpmn", "t_message.bpmn")
    from engine.definitions import SourceFile
    from .conftest import FIXTURES

    xml = (FIXTURES / "t_throw.bpmn").read_text().replace('name="outcome_submitted"', 'name="lead_converted"')
    with svc.db.write() as session, session.begin():
        svc.registry.deploy(session, [SourceFile("t_throw.bpmn", xml.encode())], "t", svc.clock.now())
    gone = svc.cases.start("t_message", {}, "tester", VILLAGE)
    svc.cases.cancel(gone.case.id, "city", "重复线索")
    sender = svc.cases.start("t_throw", {"target": gone.case.case_no}, "dept", "/macheng/minzheng/")
    done = svc.cases.complete_task(sender.tasks[0].id, {"result": "转为案件"}, "dept")
    assert done.case.status == "completed"
    assert count(svc, Case, Case.process_key == "t_lead_start") == 0
    with pytest.raises(NotFound):
        svc.cases.deliver_message("lead_converted", {"case_no": gone.case.case_no}, {}, "api-1", "dept")
    assert count(svc, Case, Case.process_key == "t_lead_start") == 0
    [dead] = svc.cases.dead_letters()
    assert (dead.name, dead.state, dead.sender_case_id) == ("lead_converted", "undeliverable", sender.case.id)
    assert gone.case.case_no in dead.outcome
    [listed] = client.get("/api/v1/messages/undeliverable", headers=login("admin")).get_json()
    assert (listed["id"], listed["sender_case_no"], listed["correlation"]) == (
        dead.id, sender.case.case_no, {"case_no": gone.case.case_no})
    assert "no open case is waiting" in listed["reason"]
    assert client.get("/api/v1/messages/undeliverable", headers=login("town")).status_code == 403


def test_a_timer_due_before_a_completion_fires_first_and_is_recorded(svc, clock):
    deploy(svc, "t_reminder.bpmn")
    view = svc.cases.start("t_reminder", {}, "tester", VILLAGE)
    clock.advance(hours=1, seconds=1)  # due, and no worker has fired it yet
    done = svc.cases.complete_task(view.tasks[0].id, {}, "mediator")
    assert [t.element_id for t in done.tasks] == ["remind"]
    with svc.db.read() as session:
        kinds = list(session.scalars(select(CaseEvent.type).where(CaseEvent.case_id == view.case.id)
                                     .order_by(CaseEvent.seq)))
    assert kinds == ["case_started", "timer_fired", "task_completed"]
    assert svc.cases.fire_due_timers() == 0


def test_a_message_to_a_case_whose_timer_is_due_records_the_firing_first(svc, clock):
    deploy(svc, "t_race.bpmn")
    view = svc.cases.start("t_race", {}, "tester", VILLAGE)
    clock.advance(days=30, seconds=1)
    with pytest.raises(Conflict):  # the timer won: the gateway no longer waits for the message
        svc.cases.deliver_message("court_result", {"case_no": view.case.case_no}, {"confirmed": True}, "c1", "court")
    assert svc.cases.fire_due_timers() == 1
    with svc.db.read() as session:
        kinds = list(session.scalars(select(CaseEvent.type).where(CaseEvent.case_id == view.case.id)))
    assert kinds == ["case_started", "timer_fired"]


def test_the_log_check_sees_an_integrity_error_in_a_message_or_a_traceback():
    try:
        raise IntegrityError("INSERT …", {}, Exception("UNIQUE constraint failed: message_receipts.idempotency_key"))
    except IntegrityError:
        failed = logging.LogRecord("engine.worker", logging.ERROR, __file__, 1, "timer round failed", None,
                                   sys.exc_info())
    quiet = logging.LogRecord("engine.cases", logging.INFO, __file__, 1, "all good", None, None)
    assert len(integrity_errors([failed, quiet])) == 1
    assert integrity_errors(["[ERROR] psycopg.errors.UniqueViolation: duplicate key", "GET /healthz 200"]) != []
