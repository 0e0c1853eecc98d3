"""Hostile process definitions: what a designer's diagram makes the engine do is bounded, and every bound that
is hit is a deploy error (for what is written in the diagram) or the case's incident (for what is computed),
never a hung, killed or failing worker. Each finding of issue 15 is reproduced here."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import bounds
from engine.definitions import SourceFile, compile_bundle
from engine.errors import DefinitionInvalid
from engine.models import CaseTask, PendingTimer
from engine.sandbox import SandboxLimits

from .bpmn_support import bpmn, flow, lane

VILLAGE = "/macheng/songbu/songbu-yangjiawan/"
MEDIATOR = "village_mediator"


def timer_wait(kind: str, text: str) -> SourceFile:
    """start -> wait (a timer) -> ask (a user task) -> end"""
    body = f"""<bpmn:startEvent id="start"/>
<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition id="td"><bpmn:{kind}>{text}</bpmn:{kind}>
</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
<bpmn:userTask id="ask"/><bpmn:endEvent id="end"/>""" + flow(("start", "wait"), ("wait", "ask"), ("ask", "end"))
    return bpmn(body, "p_timer", lane(MEDIATOR, "ask"))


def cycle_boundary(text: str) -> SourceFile:
    """A user task with a non-interrupting cycle timer that opens a reminder task each time it fires."""
    body = f"""<bpmn:startEvent id="start"/><bpmn:userTask id="ask"/>
<bpmn:boundaryEvent id="tick" attachedToRef="ask" cancelActivity="false"><bpmn:timerEventDefinition id="td">
<bpmn:timeCycle>{text}</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:boundaryEvent>
<bpmn:userTask id="remind"/><bpmn:endEvent id="end"/><bpmn:endEvent id="end2"/>""" + flow(
        ("start", "ask"), ("ask", "end"), ("tick", "remind"), ("remind", "end2"))
    return bpmn(body, "p_cycle", lane(MEDIATOR, "ask", "remind"))


def script_step(script: str, extra: str = "") -> SourceFile:
    """start -> work (a script task, maybe multi-instance) -> ask -> end"""
    body = f"""<bpmn:startEvent id="start"/><bpmn:scriptTask id="work">{extra}<bpmn:script>{script}</bpmn:script>
</bpmn:scriptTask><bpmn:userTask id="ask"/><bpmn:endEvent id="end"/>""" + flow(
        ("start", "work"), ("work", "ask"), ("ask", "end"))
    return bpmn(body, "p_script", lane(MEDIATOR, "ask"))


def deploy_file(svc, source: SourceFile) -> str:
    with svc.db.write() as session, session.begin():
        [deployed] = svc.registry.deploy(session, [source], "designer", svc.clock.now())
    return deployed.key


def start(svc, source: SourceFile, data: dict | None = None):
    return svc.cases.start(deploy_file(svc, source), data or {}, "tester", VILLAGE)


def deploy_issues(source: SourceFile):
    with pytest.raises(DefinitionInvalid) as info:
        compile_bundle([source], [], {MEDIATOR: MEDIATOR}.get)
    return info.value.issues


def the_service_still_works(svc) -> None:
    healthy = svc.cases.start(deploy_file(svc, script_step("ok = True")), {}, "tester", VILLAGE)
    assert healthy.case.status == "active" and healthy.case.data["ok"] is True


# -- timers: literals are refused at deploy -----------------------------------------------------------------

@pytest.mark.parametrize("kind, text, words", [
    ("timeDuration", '"P99999999Y"', "longer than the limit of ten years"),
    ("timeDuration", "P99999999Y", "longer than the limit of ten years"),        # as other tools write it
    ("timeDuration", '"2026-01-01"', "is a date, not a duration"),
    ("timeDuration", "2026-01-01T08:00:00", "is a date, not a duration"),
    ("timeCycle", '"R999999999/PT0S"', "repeats 999999999 times"),
    ("timeCycle", '"R5/PT0S"', "more often than once a minute"),
    ("timeCycle", '"R/PT1H"', "repeats without end"),
    ("timeDate", '"2101-01-01T00:00:00+08:00"', "after the latest allowed date"),
    ("timeDate", '"P3D"', "is a duration, not a date"),
    ("timeDate", "5", "ISO-8601 date, duration or cycle as text"),
])
def test_a_timer_literal_beyond_the_bounds_is_a_deploy_error_with_element_and_line(kind, text, words):
    [issue] = deploy_issues(timer_wait(kind, text))
    assert (issue.element_id, issue.line) == ("wait", 8), issue
    assert words in issue.message, issue.message


def test_a_due_in_beyond_the_bounds_is_a_deploy_error():
    body = """<bpmn:startEvent id="start"/><bpmn:userTask id="ask"><bpmn:extensionElements>
<spiffworkflow:properties><spiffworkflow:property name="dueIn" value="P99999999Y"/></spiffworkflow:properties>
</bpmn:extensionElements></bpmn:userTask><bpmn:endEvent id="end"/>""" + flow(("start", "ask"), ("ask", "end"))
    [issue] = deploy_issues(bpmn(body, "p_due", lane(MEDIATOR, "ask")))
    assert issue.element_id == "ask" and "ten years" in issue.message


def test_timer_literals_within_the_bounds_deploy_quoted_or_bare():
    for kind, text in [("timeDuration", '"P10Y"'), ("timeDuration", "P3D"), ("timeDate", "2030-05-01T09:00:00"),
                       ("timeCycle", "R1000/PT1M"), ("timeDuration", "deadline")]:
        assert compile_bundle([timer_wait(kind, text)], [], {MEDIATOR: MEDIATOR}.get), (kind, text)


def test_a_bad_timer_literal_is_a_422_listing_element_and_line(client, login):
    source = timer_wait("timeDuration", '"P99999999Y"')
    answer = client.post("/api/v1/definitions", headers=login("designer"), content_type="multipart/form-data",
                         data={"files": [(io.BytesIO(source.content), source.name)]})
    assert answer.status_code == 422, answer.get_json()
    [error] = answer.get_json()["errors"]
    assert (error["element_id"], error["line"]) == ("wait", 8)


# -- timers: computed values are checked when the timer starts ----------------------------------------------

@pytest.mark.parametrize("value, kind", [("P99999999Y", "out_of_bounds"), ("2026-01-01", "error"),
                                         (12, "error")])
def test_a_computed_duration_beyond_the_bounds_is_an_incident_naming_the_timer(svc, verify_all_cases, value, kind):
    view = start(svc, timer_wait("timeDuration", "deadline"), {"deadline": value})
    assert view.case.status == "incident"
    assert (view.case.incident["element_id"], view.case.incident["kind"]) == ("wait", kind), view.case.incident
    the_service_still_works(svc)


def test_a_computed_runaway_cycle_is_an_incident_naming_the_boundary_timer(svc, verify_all_cases):
    view = start(svc, cycle_boundary("every"), {"every": "R999999999/PT0S"})
    assert view.case.status == "incident"
    assert view.case.incident["element_id"] == "tick" and "999999999" in view.case.incident["message"]


def test_a_cycle_fires_no_more_often_than_its_period_and_no_more_than_its_repetitions(svc, verify_all_cases, clock):
    view = start(svc, cycle_boundary("R3/PT1M"))
    assert svc.cases.fire_due_timers() == 0
    for _ in range(10):  # ten rounds of the timer worker, a minute apart
        clock.advance(minutes=1, seconds=1)
        svc.cases.fire_due_timers()
    with svc.db.read() as session:
        reminders = session.scalars(select(CaseTask).where(CaseTask.case_id == view.case.id,
                                                           CaseTask.element_id == "remind")).all()
    assert len(reminders) == 3
    assert svc.cases.view(view.case.id).case.version == 4  # started, then three firings


def test_a_literal_timer_as_other_tools_write_it_waits_as_if_quoted(svc, verify_all_cases, clock):
    view = start(svc, timer_wait("timeDuration", "PT2H"))
    assert view.case.status == "waiting"
    clock.advance(hours=2, seconds=1)
    assert svc.cases.fire_due_timers() == 1
    assert [t.element_id for t in svc.cases.view(view.case.id).tasks] == ["ask"]


# -- scripts and data: memory errors become incidents, the state stays small --------------------------------

@pytest.mark.parametrize("script, kind", [
    ("x = [[[[0] * 1000] * 1000] * 1000]", "too_large"),
    ("x = []\nwhile True:\n    x.append([1, 2, 3])", "timeout"),
    ("d = {}\ni = 0\nwhile True:\n    d[str(i)] = i\n    i += 1", "timeout"),
])
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # a Timeout in a gc callback
def test_a_script_that_blows_up_the_data_is_an_incident_and_leaves_no_junk(svc, verify_all_cases, script, kind):
    # A shorter CPU limit than the default second: the growth stops sooner, the test machine keeps its memory.
    svc.cases.script_engine.environment.limits = SandboxLimits(cpu_seconds=0.3)
    view = start(svc, script_step(script))
    assert view.case.status == "incident"
    assert (view.case.incident["element_id"], view.case.incident["kind"]) == ("work", kind)
    assert len(view.case.state) < 20_000  # the failed script's data was discarded, not serialised
    the_service_still_works(svc)


def test_case_data_over_the_state_bound_is_an_incident_before_it_is_saved(monkeypatch, svc, verify_all_cases):
    monkeypatch.setattr(bounds, "MAX_STATE_BYTES", 50_000)
    view = start(svc, script_step("copy = text"), {"text": "字" * 30_000})
    assert view.case.status == "incident" and view.case.incident["kind"] == "too_large"
    assert "case data exceeds" in view.case.incident["message"]


def test_an_endless_loop_of_gateways_is_an_incident(monkeypatch, svc, verify_all_cases):
    monkeypatch.setattr(bounds, "MAX_ENGINE_STEPS", 300)
    body = """<bpmn:startEvent id="start"/><bpmn:scriptTask id="work"><bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>
<bpmn:exclusiveGateway id="gw" default="back"/><bpmn:userTask id="ask"/><bpmn:endEvent id="end"/>""" + flow(
        ("start", "work"), ("work", "gw"), ("gw", "work"), ("gw", "ask"), ("ask", "end"),
        conditions={"gw->ask": "n == 2"}).replace('id="f2_gw_work"', 'id="back"')
    view = start(svc, bpmn(body, "p_loop", lane(MEDIATOR, "ask")))
    assert view.case.status == "incident"
    assert view.case.incident["kind"] == "out_of_bounds" and "endless loop" in view.case.incident["message"]


@pytest.mark.parametrize("characteristics, data, words", [
    ('<bpmn:loopCardinality>n</bpmn:loopCardinality>', {"n": 10**7}, "not a number of instances"),
    ('<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>', {"items": list(range(2000))}, "exceed the limit"),
    ('<bpmn:loopDataInputRef>items</bpmn:loopDataInputRef>', {"items": list(range(100)), "blob": "x" * 90_000},
     "copy of the task data"),
])
@pytest.mark.parametrize("sequential", ["false", "true"])
def test_multi_instance_is_bounded_in_instances_and_copied_data(svc, verify_all_cases, characteristics, data, words, sequential):
    extra = f'<bpmn:multiInstanceLoopCharacteristics isSequential="{sequential}">{characteristics}' \
            '</bpmn:multiInstanceLoopCharacteristics>'
    view = start(svc, script_step("y = 1", extra), data)
    assert view.case.status == "incident", view.case.status
    assert view.case.incident["element_id"] == "work" and words in view.case.incident["message"]


def test_the_timer_worker_lives_through_a_bad_timer(svc, verify_all_cases, clock):
    bad = start(svc, timer_wait("timeDuration", "deadline"), {"deadline": "P99999999Y"})
    good = start(svc, timer_wait("timeDuration", '"PT1H"'))
    clock.advance(hours=1, minutes=1)
    assert svc.cases.fire_due_timers() == 1
    assert svc.cases.view(good.case.id).case.status == "active"
    assert svc.cases.view(bad.case.id).case.status == "incident"


def test_a_hostile_case_over_http_answers_with_the_incident_not_a_500(client, login):
    source = script_step("x = [[[[0] * 1000] * 1000] * 1000]")
    answer = client.post("/api/v1/definitions", headers=login("designer"), content_type="multipart/form-data",
                         data={"files": [(io.BytesIO(source.content), source.name)]})
    assert answer.status_code == 201, answer.get_json()
    case = client.post("/api/v1/cases", headers=login("grid"), json={"process_key": "p_script"})
    assert case.status_code == 201, case.get_json()
    assert case.get_json()["status"] == "incident" and case.get_json()["incident"]["element_id"] == "work"


def test_a_month_long_timer_is_due_a_calendar_month_later(svc, verify_all_cases, clock):
    view = start(svc, timer_wait("timeDuration", '"P1M"'))
    with svc.db.read() as session:
        [due] = session.scalars(select(PendingTimer.due_at).where(PendingTimer.case_id == view.case.id)).all()
    assert due - clock.now() == timedelta(days=31)  # March 2026
