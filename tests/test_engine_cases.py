"""Case commands through the engine's service, on a real database and a fake clock."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from engine.cases import CaseService
from engine.errors import Conflict, InvalidData, NotFound
from engine.models import Case, CaseEvent, CaseTask, MessageOutbox, MessageReceipt, MessageWait, PendingTimer

from engine.definitions import SourceFile

from .conftest import FIXTURES, deploy

pytestmark = pytest.mark.usefixtures("verify_all_cases")

VILLAGE = "/macheng/songbu/songbu-yangjiawan/"


def start(svc, key, data=None, jurisdiction=VILLAGE):
    return svc.cases.start(key, data or {}, "tester", jurisdiction)


def events(svc, case_id):
    with svc.db.read() as session:
        return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)))


def test_start_gives_case_number_status_and_first_task(svc):
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    view = start(svc, "t_simple", {"reporter": "张三"})
    assert view.case.case_no == "MC-20260302-0001"
    assert view.case.status == "active" and view.case.version == 1
    [task] = view.tasks
    assert (task.element_id, task.name, task.role, task.form_key) == ("register", "登记纠纷", "grid_worker", "t_register")
    assert task.due_at == svc.clock.now() + timedelta(hours=2)
    assert start(svc, "t_simple").case.case_no == "MC-20260302-0002"
    svc.clock.advance(days=1)
    assert start(svc, "t_simple").case.case_no == "MC-20260303-0001"


def test_complete_runs_script_and_gateway_to_next_task(svc):
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    view = start(svc, "t_simple")
    view = svc.cases.complete_task(view.tasks[0].id, {"summary": "邻里宅基地纠纷", "amount": 5000}, "grid")
    assert view.case.data["risk"] == "high"
    assert [t.element_id for t in view.tasks] == ["mediate"]
    assert view.case.version == 2
    view = svc.cases.complete_task(view.tasks[0].id, {"outcome": "达成协议"}, "mediator")
    assert view.case.status == "completed" and view.case.completed_at == svc.clock.now()
    assert view.case.data["outcome"] == "达成协议"
    assert [e.type for e in events(svc, view.case.id)] == ["case_started", "task_completed", "task_completed"]


def test_low_risk_takes_default_flow(svc):
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    view = start(svc, "t_simple")
    view = svc.cases.complete_task(view.tasks[0].id, {"summary": "小额欠款", "amount": 200}, "grid")
    assert view.case.status == "completed" and view.case.data["risk"] == "low"


def test_form_errors_are_per_field_and_change_nothing(svc):
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    view = start(svc, "t_simple")
    with pytest.raises(InvalidData) as info:
        svc.cases.complete_task(view.tasks[0].id, {"summary": "x", "amount": -1}, "grid")
    assert set(info.value.errors) == {"summary", "amount"}
    with pytest.raises(InvalidData) as info:
        svc.cases.complete_task(view.tasks[0].id, {"amount": 1}, "grid")
    assert set(info.value.errors) == {"summary"}
    with svc.db.read() as session:
        case = session.get(Case, view.case.id)
        assert case.version == 1 and case.event_seq == 1


def test_bad_data_shapes_are_refused(svc):
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    with pytest.raises(InvalidData):
        start(svc, "t_simple", {"_private": 1})
    with pytest.raises(InvalidData):
        start(svc, "t_simple", {"blob": "x" * 300_000})


def test_completed_task_conflicts_and_unknown_task_is_not_found(svc):
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    view = start(svc, "t_simple")
    task_id = view.tasks[0].id
    svc.cases.complete_task(task_id, {"summary": "邻里纠纷", "amount": 10}, "grid")
    with pytest.raises(Conflict):
        svc.cases.complete_task(task_id, {"summary": "邻里纠纷", "amount": 10}, "grid")
    with pytest.raises(NotFound):
        svc.cases.complete_task("00000000-0000-0000-0000-000000000000", {}, "grid")
    with pytest.raises(NotFound):
        svc.cases.start("no_such_process", {}, "tester")


def test_two_clients_completing_one_task_exactly_one_wins(svc):
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    task_id = start(svc, "t_simple").tasks[0].id
    barrier = threading.Barrier(2)
    outcomes = []

    def complete():
        barrier.wait()
        try:
            svc.cases.complete_task(task_id, {"summary": "并发测试", "amount": 5000}, "grid")
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    with svc.db.read() as session:
        case = session.scalars(select(Case)).one()
        assert case.version == 2 and case.event_seq == 2


def test_a_write_from_a_stale_read_is_a_conflict(svc, monkeypatch):
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    task_id = start(svc, "t_simple").tasks[0].id
    original = CaseService._change
    raced = []

    def racing_change(self, *args, **kwargs):
        change = original(self, *args, **kwargs)
        if not raced:  # another client completes the task between our read and our write
            raced.append(True)
            svc.cases.complete_task(task_id, {"summary": "另一客户端", "amount": 1}, "other")
        return change

    monkeypatch.setattr(CaseService, "_change", racing_change)
    with pytest.raises(Conflict):
        svc.cases.complete_task(task_id, {"summary": "本客户端", "amount": 5000}, "grid")
    with svc.db.read() as session:
        case = session.scalars(select(Case)).one()
        assert (case.version, case.event_seq, case.data["summary"]) == (2, 2, "另一客户端")


def test_a_failed_command_writes_nothing(svc, request):
    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    view = start(svc, "t_simple")
    request.getfixturevalue("commit_fails")
    with pytest.raises(RuntimeError):
        svc.cases.complete_task(view.tasks[0].id, {"summary": "邻里纠纷", "amount": 5000}, "grid")
    with svc.db.read() as session:
        case = session.get(Case, view.case.id)
        assert (case.version, case.event_seq) == (1, 1)
        assert session.get(CaseTask, view.tasks[0].id).state == "ready"
        assert len(list(session.scalars(select(CaseEvent)))) == 1
        assert len(list(session.scalars(select(CaseTask)))) == 1


def test_loop_of_2000_user_task_iterations_completes_with_constant_state(svc):
    deploy(svc, "t_loop.bpmn")
    view = start(svc, "t_loop", {"rounds": 2000})
    sizes = []
    for i in range(2000):
        view = svc.cases.complete_task(view.tasks[0].id, {"note": f"第{i + 1}次"}, "mediator")
        if i in (10, 1990):
            sizes.append(len(view.case.state))
    assert view.case.status == "completed"
    assert view.case.data["i"] == 2000
    assert sizes[1] < sizes[0] * 1.5, sizes  # state does not grow with history


def test_script_loop_of_2000_iterations_in_one_command(svc):
    deploy(svc, "t_script_loop.bpmn")
    view = start(svc, "t_script_loop", {"rounds": 2000})
    assert view.case.status == "completed"
    assert view.case.data["i"] == 2000


def test_timer_boundary_fires_on_fake_clock_and_escalates(svc, clock):
    deploy(svc, "t_timer.bpmn")
    view = start(svc, "t_timer")
    with svc.db.read() as session:
        [timer] = session.scalars(select(PendingTimer))
        assert timer.due_at == clock.now() + timedelta(hours=2)
    assert svc.cases.fire_due_timers() == 0
    clock.advance(hours=1, minutes=59)
    assert svc.cases.fire_due_timers() == 0
    clock.advance(minutes=2)
    assert svc.cases.fire_due_timers() == 1
    with svc.db.read() as session:
        case = session.get(Case, view.case.id)
        tasks = session.scalars(select(CaseTask).where(CaseTask.case_id == case.id)).all()
        assert {(t.element_id, t.state) for t in tasks} == {("accept", "cancelled"), ("escalated", "ready")}
        assert not session.scalars(select(PendingTimer)).all()
    fired = [e for e in events(svc, view.case.id) if e.type == "timer_fired"]
    assert fired[0].payload["timers"][0]["element_id"] == "late"
    assert fired[0].at == clock.now()


def test_intermediate_timer_waits_then_fires(svc, clock):
    deploy(svc, "t_timer.bpmn")
    view = start(svc, "t_timer")
    view = svc.cases.complete_task(view.tasks[0].id, {}, "mediator")
    assert view.case.status == "waiting" and view.tasks == []
    clock.advance(days=7, seconds=1)
    assert svc.cases.fire_due_timers() == 1
    with svc.db.read() as session:
        assert session.get(Case, view.case.id).status == "active"


def test_two_workers_fire_each_timer_once(svc, clock):
    deploy(svc, "t_timer.bpmn")
    for _ in range(6):
        start(svc, "t_timer")
    clock.advance(hours=3)
    counts = []
    barrier = threading.Barrier(2)

    def work(name):
        barrier.wait()
        counts.append(svc.cases.fire_due_timers(worker_id=name, limit=3))
        counts.append(svc.cases.fire_due_timers(worker_id=name, limit=3))

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 6
    with svc.db.read() as session:
        fired = session.scalars(select(CaseEvent).where(CaseEvent.type == "timer_fired")).all()
        assert len(fired) == 6 and len({e.case_id for e in fired}) == 6


def test_message_delivery_is_correlated_and_idempotent(svc):
    deploy(svc, "t_message.bpmn")
    first, second = start(svc, "t_message"), start(svc, "t_message", {"result": "待反馈"})
    assert first.case.status == "waiting"
    with pytest.raises(Conflict):  # two cases wait: the correlation must pick one
        svc.cases.deliver_message("outcome_submitted", {}, {"result": "ok"}, "k0", "dept")
    [view] = svc.cases.deliver_message("outcome_submitted", {"case_no": second.case.case_no},
                                       {"result": "已解决"}, "k1", "dept")
    assert view.case.id == second.case.id and view.case.data["result"] == "已解决"
    assert [t.element_id for t in view.tasks] == ["review"]
    [again] = svc.cases.deliver_message("outcome_submitted", {"case_no": second.case.case_no},
                                        {"result": "已解决"}, "k1", "dept")
    assert again.case.version == view.case.version  # the repeat changed nothing
    with pytest.raises(NotFound):
        svc.cases.deliver_message("outcome_submitted", {"case_no": second.case.case_no}, {}, "k2", "dept")
    with pytest.raises(NotFound):
        svc.cases.deliver_message("no_such_message", {}, {}, "k3", "dept")
    with svc.db.read() as session:
        assert len(session.scalars(select(MessageReceipt)).all()) == 1
        assert session.get(Case, first.case.id).status == "waiting"


@pytest.mark.parametrize("mode,kind", [("spin", "timeout"), ("big", "too_large"), ("zero", "error")])
def test_script_failure_becomes_an_incident(svc, mode, kind):
    deploy(svc, "t_incident.bpmn")
    view = start(svc, "t_incident")
    view = svc.cases.complete_task(view.tasks[0].id, {"mode": mode, "size": 10**9}, "mediator")
    assert view.case.status == "incident"
    assert view.case.incident["element_id"] == "work"
    assert view.case.incident["kind"] == kind
    assert view.case.incident["message"]
    healthy = start(svc, "t_incident")
    assert svc.cases.complete_task(healthy.tasks[0].id, {"mode": "fine"}, "mediator").case.status == "completed"


def test_cancel_suspend_resume(svc, clock):
    deploy(svc, "t_timer.bpmn")
    view = start(svc, "t_timer")
    with pytest.raises(InvalidData):
        svc.cases.suspend(view.case.id, "city", " ")
    view = svc.cases.suspend(view.case.id, "city", "当事人外出务工")
    assert view.case.status == "suspended"
    with pytest.raises(Conflict):
        svc.cases.complete_task(view.tasks[0].id, {}, "mediator")
    clock.advance(hours=3)
    assert svc.cases.fire_due_timers() == 0  # a suspended case's timers wait
    view = svc.cases.resume(view.case.id, "city", "当事人返回")
    assert view.case.status == "active"
    view = svc.cases.cancel(view.case.id, "city", "重复登记")
    assert view.case.status == "cancelled" and view.tasks == []
    with pytest.raises(Conflict):
        svc.cases.resume(view.case.id, "city", "误操作")
    types = [e.type for e in events(svc, view.case.id)]
    assert types == ["case_started", "case_suspended", "case_resumed", "case_cancelled"]


def test_events_form_a_hash_chain_and_the_table_is_append_only(svc):
    from engine.audit import GENESIS, event_hash

    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    view = start(svc, "t_simple")
    svc.cases.complete_task(view.tasks[0].id, {"summary": "邻里纠纷", "amount": 5000}, "grid")
    chain = events(svc, view.case.id)
    prev = GENESIS
    for event in chain:
        assert event.prev_hash == prev
        assert event.hash == event_hash(prev, event.case_id, event.seq, event.type, event.actor, event.at,
                                        event.payload)
        prev = event.hash
    with svc.db.read() as session:
        assert session.get(Case, view.case.id).chain_head == prev
    for statement in ("UPDATE case_events SET actor = 'mallory'", "DELETE FROM case_events"):
        with pytest.raises(DBAPIError):
            with svc.db.engine.begin() as conn:
                conn.execute(text(statement))
    assert chain[1].payload["data"] == {"summary": "邻里纠纷", "amount": 5000}


def test_a_thrown_message_reaches_the_waiting_case_after_the_senders_commit(svc):
    deploy(svc, "t_message.bpmn", "t_throw.bpmn")
    receiver = start(svc, "t_message")
    sender = start(svc, "t_throw", {"target": receiver.case.case_no}, jurisdiction="/macheng/minzheng/")
    done = svc.cases.complete_task(sender.tasks[0].id, {"result": "已发放临时救助"}, "dept")
    assert done.case.status == "completed"
    with svc.db.read() as session:
        got = session.get(Case, receiver.case.id)
        assert got.status == "active" and got.data["result"] == "已发放临时救助"
        [outbox] = session.scalars(select(MessageOutbox))
        assert outbox.outcome == f"delivered to {receiver.case.case_no}" and outbox.settled_at is not None
    sent = [e for e in events(svc, sender.case.id) if e.type == "message_sent"]
    assert sent[0].payload["correlation"] == {"case_no": receiver.case.case_no}
    received = [e for e in events(svc, receiver.case.id) if e.type == "message_delivered"]
    assert received[0].actor == f"case:{sender.case.case_no}"


def test_an_undeliverable_thrown_message_is_settled_with_the_reason(svc):
    deploy(svc, "t_message.bpmn", "t_throw.bpmn")
    sender = start(svc, "t_throw", {"target": "MC-19990101-0001"}, jurisdiction="/macheng/minzheng/")
    svc.cases.complete_task(sender.tasks[0].id, {"result": "x"}, "dept")
    with svc.db.read() as session:
        [outbox] = session.scalars(select(MessageOutbox))
        assert "no open case is waiting" in outbox.outcome


def test_a_message_with_no_waiting_case_starts_the_process_with_that_message_start(svc):
    deploy(svc, "t_lead_start.bpmn")
    plain = start(svc, "t_lead_start")
    assert "channel" not in plain.case.data  # the none start event does not take the lead path
    [view] = svc.cases.deliver_message("lead_converted", {}, {"summary": "110 转来邻里纠纷", "source_ref": "110-7"},
                                       "110-7", "police", start_in=VILLAGE)
    assert view.case.id != plain.case.id and view.case.jurisdiction == VILLAGE
    assert view.case.data["channel"] == "lead" and view.case.data["summary"] == "110 转来邻里纠纷"
    assert [t.element_id for t in view.tasks] == ["register"]
    [again] = svc.cases.deliver_message("lead_converted", {}, {"summary": "重复推送"}, "110-7", "police")
    assert again.case.id == view.case.id  # the same push never makes a second case
    assert events(svc, view.case.id)[0].payload["message"] == "lead_converted"


def test_a_thrown_message_can_start_a_case(svc):
    deploy(svc, "t_lead_start.bpmn", "t_throw.bpmn")
    xml = (FIXTURES / "t_throw.bpmn").read_text().replace('name="outcome_submitted"', 'name="lead_converted"')
    with svc.db.write() as session, session.begin():
        svc.registry.deploy(session, [SourceFile("t_throw.bpmn", xml.encode())], "t", svc.clock.now())
    sender = start(svc, "t_throw", {"target": ""}, jurisdiction="/macheng/songbu/")
    svc.cases.complete_task(sender.tasks[0].id, {"result": "转为案件"}, "dept")
    with svc.db.read() as session:
        new = session.scalars(select(Case).where(Case.process_key == "t_lead_start")).one()
        assert new.jurisdiction == "/macheng/songbu/" and new.data["result"] == "转为案件"


def test_unit_variable_sends_each_instance_to_its_department(svc):
    deploy(svc, "t_departments.bpmn")
    view = start(svc, "t_departments", {"departments": ["/macheng/minzheng/", "/macheng/fulian/"]},
                 jurisdiction="/macheng/songbu/")
    assert sorted((t.role, t.jurisdiction) for t in view.tasks) == [
        ("department_liaison", "/macheng/fulian/"), ("department_liaison", "/macheng/minzheng/")]
    for task in view.tasks:
        view = svc.cases.complete_task(task.id, {"acknowledged": True}, "dept")
    assert view.case.status == "completed"


@pytest.mark.parametrize("sequential", [False, True])
def test_instances_finished_by_another_worker_close_their_multi_instance(svc, settings, clock, sequential):
    """A worker that loads the case from its saved state (its own freshly parsed specs, which never
    made an instance) still merges the instances when they finish, as replay does."""
    from api.core.services import build_services
    source = (FIXTURES / "t_departments.bpmn").read_bytes()
    if sequential:  # with an output collection: SpiffWorkflow would merge each input item back otherwise
        source = source.replace(b"<bpmn:multiInstanceLoopCharacteristics>",
                                b'<bpmn:multiInstanceLoopCharacteristics isSequential="true">').replace(
            b'<bpmn:inputDataItem id="dept" name="dept" />',
            b'<bpmn:loopDataOutputRef>acks</bpmn:loopDataOutputRef><bpmn:inputDataItem id="dept" name="dept" />'
            b'<bpmn:outputDataItem id="acknowledged" name="acknowledged" />')
    with svc.db.write() as session, session.begin():
        svc.registry.deploy(session, [SourceFile("t_departments.bpmn", source)], "test", clock.now())
    view = start(svc, "t_departments", {"departments": ["/macheng/minzheng/", "/macheng/fulian/"]},
                 jurisdiction="/macheng/songbu/")
    other = build_services(settings, clock)
    try:
        while view.tasks:
            view = other.cases.complete_task(view.tasks[0].id, {"acknowledged": True}, "dept")
    finally:
        other.db.dispose()
    assert view.case.status == "completed", view.case.incident


@pytest.mark.parametrize("outcome", ["message", "timer"])
def test_event_based_gateway_waits_for_a_message_or_a_timer(svc, clock, outcome):
    deploy(svc, "t_race.bpmn")
    view = start(svc, "t_race")
    assert view.case.status == "waiting"
    with svc.db.read() as session:
        assert [w.name for w in session.scalars(select(MessageWait))] == ["court_result"]
        assert len(session.scalars(select(PendingTimer)).all()) == 1
    if outcome == "message":
        [view] = svc.cases.deliver_message("court_result", {"case_no": view.case.case_no}, {"confirmed": True}, "c1", "court")
        assert [t.element_id for t in view.tasks] == ["record"] and view.case.data["confirmed"] is True
    else:
        clock.advance(days=30, seconds=1)
        assert svc.cases.fire_due_timers() == 1
        assert [t.element_id for t in svc.cases.view(view.case.id).tasks] == ["chase"]
    with svc.db.read() as session:
        assert session.scalars(select(MessageWait)).all() == [] and session.scalars(select(PendingTimer)).all() == []
