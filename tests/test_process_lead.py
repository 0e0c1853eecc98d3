"""P6 lead_clue (苗头线索处置): its own top-level process; a conversion throws lead_converted,
which starts a dispute_intake case through that process's message start event."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.models import Case, CaseEvent

from .process_support import FORMS, ROOT, case, do, example, ready  # noqa: F401

pytestmark = pytest.mark.usefixtures("verify_all_cases")

CITY = "/macheng/"
VILLAGE = "/macheng/songbu/songbu-yangjiawan/"
TOWN = "/macheng/songbu/"


LEAD_110 = {"source": "police_110", "source_ref": "110-20260302-0007", "lead_summary": "杨家湾村两户因排水沟争吵报警"}
SCREEN = example("lead_screen")


def start(svc, **data):
    return svc.cases.start("lead_clue", {**LEAD_110, **data}, "city", CITY).case.id


def events(svc, case_id, kind):
    with svc.db.read() as session:
        return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.type == kind)))


def test_a_110_lead_is_verified_by_the_first_handler_and_converted_to_a_case(svc, library, clock):
    cid = start(svc)
    do(svc, cid, "screen", SCREEN, role="city_officer")
    [verify] = ready(svc, cid)
    assert (verify.element_id, verify.role, verify.jurisdiction) == ("verify", "grid_worker", VILLAGE)
    do(svc, cid, "verify", example("lead_verify", lead_result="converted"))
    view = do(svc, cid, "feedback", example("lead_feedback"), role="city_officer")
    assert view.case.status == "completed" and view.case.data["lead_result"] == "converted"
    [sent] = events(svc, cid, "message_sent")
    assert sent.payload["name"] == "lead_converted"
    payload = sent.payload["payload"]
    assert {k: payload[k] for k in ("summary", "category", "source", "source_ref", "channel")} == {
        "summary": LEAD_110["lead_summary"], "category": "邻里", "source": "police_110",
        "source_ref": "110-20260302-0007", "channel": "lead"}
    assert payload["parties"] == SCREEN["parties"]
    if "dispute_intake" not in library:
        pytest.skip("dispute_intake (P1) is not in the library yet: the new case cannot start")
    with svc.db.read() as session:
        [new] = session.scalars(select(Case).where(Case.process_key == "dispute_intake")).all()
    assert new.data["channel"] == "lead" and new.data["source_ref"] == "110-20260302-0007"


def test_a_duplicate_lead_is_linked_to_the_open_case(svc, library):
    cid = start(svc)
    view = do(svc, cid, "screen", {**SCREEN, "linked_case_no": "MC-20260301-0001", "repeat_contacts_30d": 2})
    assert [t.element_id for t in view.tasks] == ["feedback"]
    view = do(svc, cid, "feedback", example("lead_feedback", feedback_text="已并入在办案件"))
    assert view.case.status == "completed" and view.case.data["lead_result"] == "linked"
    [sent] = events(svc, cid, "message_sent")
    assert (sent.payload["name"], sent.payload["payload"]["target_case_no"]) == ("lead_linked", "MC-20260301-0001")


def test_a_red_lead_not_verified_in_two_hours_is_escalated_then_an_emergency_goes_to_the_police(svc, library, clock):
    cid = start(svc)
    view = do(svc, cid, "screen", {**SCREEN, "risk_flags": ["家暴"]})
    assert view.case.data["verify_key"] == "lead_verify_red"
    clock.advance(hours=2, seconds=1)
    assert svc.cases.fire_due_timers() == 1
    do(svc, cid, "verify_supervise", example("lead_verify_supervise"), role="town_officer", unit=VILLAGE)
    do(svc, cid, "verify", example("lead_verify", lead_result="emergency"))
    do(svc, cid, "emergency", example("lead_emergency"), role="police_liaison", unit="/macheng/songbu/")  # the town of the village: its 派出所
    view = do(svc, cid, "feedback", example("lead_feedback"))
    assert view.case.status == "completed" and view.case.data["lead_result"] == "emergency"


def test_a_12345_reply_deadline_is_supervised_and_a_false_alarm_closes(svc, library, clock):
    cid = start(svc, source="hotline_12345", source_ref="12345-0301-88", hotline_type="emergency")
    do(svc, cid, "screen", SCREEN)
    clock.advance(hours=1)
    do(svc, cid, "verify", example("lead_verify", lead_result="false_alarm"))
    assert svc.cases.fire_due_timers() == 0
    clock.advance(hours=1, seconds=1)   # the 2-hour 12345 emergency feedback window from receipt
    assert svc.cases.fire_due_timers() == 1
    do(svc, cid, "reply_supervise", example("lead_reply_supervise"), role="city_director")
    view = do(svc, cid, "feedback", example("lead_feedback"))
    assert view.case.status == "completed" and view.case.data["lead_result"] == "false_alarm"


def test_a_divorce_filing_gets_joint_screening_then_monitoring_until_conversion(svc, library, clock):
    cid = start(svc, source="court_divorce", source_ref="(2026)鄂1181民初200号", lead_summary="离婚诉讼，双方争夺抚养权")
    view = do(svc, cid, "screen", {**SCREEN, "category": "婚姻家庭"})
    joint = {(t.element_id, t.role, t.jurisdiction) for t in view.tasks}
    assert joint == {("joint_fulian", "department_liaison", "/macheng/fulian/"),
                     ("joint_police", "police_liaison", TOWN), ("joint_tribunal", "justice_officer", TOWN)}
    for key in ("joint_fulian", "joint_police", "joint_tribunal"):
        do(svc, cid, key, example(f"lead_{key}"))
    do(svc, cid, "verify", example("lead_verify", lead_result="monitor"))
    view = do(svc, cid, "feedback", example("lead_feedback"))
    assert view.case.status == "waiting" and view.case.data["fulian_risk"] is False
    clock.advance(days=30, seconds=1)
    assert svc.cases.fire_due_timers() == 1
    do(svc, cid, "monitor", {"recheck_result": "继续监测", "recheck_note": "仍在诉讼中"}, role="grid_worker", unit=VILLAGE)
    clock.advance(days=30, seconds=1)
    assert svc.cases.fire_due_timers() == 1
    view = do(svc, cid, "monitor", {"recheck_result": "转为案件", "recheck_note": "双方为财产分割发生冲突"})
    assert view.case.status == "completed" and view.case.data["lead_result"] == "converted"
    assert [e.payload["name"] for e in events(svc, cid, "message_sent")] == ["lead_converted"]


def test_a_monitored_lead_is_released(svc, library, clock):
    cid = start(svc, source="grid_report", source_ref="GRID-1")
    do(svc, cid, "screen", SCREEN)
    do(svc, cid, "verify", example("lead_verify", lead_result="monitor"))
    do(svc, cid, "feedback", example("lead_feedback"))
    clock.advance(days=30, seconds=1)
    svc.cases.fire_due_timers()
    view = do(svc, cid, "monitor", {"recheck_result": "解除监测", "recheck_note": "双方已和好"})
    assert view.case.status == "completed" and view.case.data["lead_result"] == "monitor"


def test_an_external_system_can_push_a_lead_by_message(svc, library):
    [view] = svc.cases.deliver_message("lead_reported", {}, {**LEAD_110, "source_ref": "110-PUSH-1"},
                                       "110-PUSH-1", "police")
    assert view.case.process_key == "lead_clue"
    assert [t.element_id for t in view.tasks] == ["screen"] and view.case.data["channel"] == "lead"


MY_FORMS = sorted(p for p in FORMS.iterdir() if p.name.startswith(("whistle_", "closure_", "lead_")))


@pytest.mark.parametrize("path", MY_FORMS, ids=lambda p: p.name)
def test_every_form_validates_its_own_example_and_labels_every_field(path):
    from jsonschema import Draft202012Validator
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object" and schema["examples"]
    for sample in schema["examples"]:
        Draft202012Validator(schema).validate(sample)
    assert all(field.get("title") for field in schema["properties"].values())


@pytest.mark.parametrize("name", ["whistle_dispatch.bpmn", "escalation_closure.bpmn", "lead_clue.bpmn"])
def test_every_element_is_named_and_drawn(name):
    from lxml import etree
    ns = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}
    root = etree.parse(str(ROOT / "workflows" / "bpmn" / name)).getroot()
    drawn = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNShape", ns)} | \
            {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", ns)}
    process = root.find("bpmn:process", ns)
    for node in process.iter():
        tag = etree.QName(node).localname if isinstance(node.tag, str) else ""
        if node.get("id") and (tag.endswith(("Task", "Event", "Gateway", "Activity")) or tag in ("subProcess", "sequenceFlow", "lane")):
            assert node.get("id") in drawn, node.get("id")
            if tag not in ("sequenceFlow", "exclusiveGateway", "parallelGateway") or tag == "lane":
                assert node.get("name"), node.get("id")
