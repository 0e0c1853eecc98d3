"""P3 whistle_dispatch (中心吹哨、部门报到), started on its own as a top-level process with the
data a caller passes (it is a call activity of dispute_intake in production)."""
from __future__ import annotations

import json

import pytest


from .process_support import FORMS, case, do, example, ready  # noqa: F401

pytestmark = pytest.mark.usefixtures("verify_all_cases")

TOWN = "/macheng/songbu/"
ZRZY, SFS, PCS = "/macheng/ziranziyuan/", "/macheng/songbu/songbu-sifasuo/", "/macheng/songbu/songbu-paichusuo/"
FULIAN, MINZHENG, RENSHE = "/macheng/fulian/", "/macheng/minzheng/", "/macheng/renshe/"


ORDER = example("whistle_order")  # 房屋宅基地 / /macheng/songbu/ / 权属确认 / urgency high
ACK = {"ack_decision": "应哨", "liaison_name": "赵联络"}
EXEMPT = {"ack_decision": "申请退单", "liaison_name": "钱联络", "exemption_reason": "该事项属于土地确权，不在本所权责清单内"}
REPORT = example("whistle_report")
JOINT = example("whistle_joint", need_five_batches=False)
FEEDBACK = example("whistle_feedback")


def start_whistle(svc, order=ORDER):
    view = svc.cases.start("whistle_dispatch", {"case_ref": "MC-TEST"}, "town", TOWN)
    cid = view.case.id
    assert [(t.element_id, t.role) for t in view.tasks] == [("draft", "town_officer")]
    do(svc, cid, "draft", order)
    do(svc, cid, "approve", {"approved": True})
    return cid


def dispatch(svc, cid, **select):
    view = do(svc, cid, "confirm", select)
    return view


def test_a_late_department_is_escalated_and_scored_and_another_asks_for_exemption(svc, library, clock):
    cid = start_whistle(svc)
    data = case(svc, cid).data
    assert (data["lead_dept"], data["co_depts"]) == (ZRZY, [SFS])  # the responsibility list (DMN)
    dispatch(svc, cid)
    acks = {t.jurisdiction: t for t in ready(svc, cid)}
    assert set(acks) == {ZRZY, SFS}  # offered in each department (unitVariable = dept)
    assert {(t.element_id, t.role) for t in acks.values()} == {("ack", "department_liaison")}
    # the lead asks to be excused, with reasons; the center refuses, so it must report
    do(svc, cid, "ack", EXEMPT, unit=ZRZY)
    [ruling] = [t for t in ready(svc, cid) if t.element_id == "rule_exemption"]
    assert (ruling.role, ruling.jurisdiction) == ("town_officer", TOWN)
    do(svc, cid, "rule_exemption", {"exemption_granted": False, "ruling_reason": "属于权责清单第12项，不予退单"})
    do(svc, cid, "report", REPORT, unit=ZRZY)
    # the co-department misses its 2-hour acknowledge window (urgency high): escalated to its head
    clock.advance(hours=1)
    assert svc.cases.fire_due_timers() == 0
    clock.advance(hours=1, seconds=1)
    assert svc.cases.fire_due_timers() == 1
    [supervise] = [t for t in ready(svc, cid) if t.element_id == "supervise_ack"]
    assert supervise.role == "town_director"
    do(svc, cid, "supervise_ack", example("whistle_supervise"))
    do(svc, cid, "ack", ACK, unit=SFS)
    view = do(svc, cid, "report", REPORT, unit=SFS)
    [joint] = view.tasks
    assert (joint.element_id, joint.jurisdiction) == ("joint", ZRZY)
    data = view.case.data
    assert data["late_depts"] == [SFS] and data["exempted_depts"] == []
    # feedback returned once for redo, then accepted
    do(svc, cid, "joint", JOINT)
    do(svc, cid, "feedback", FEEDBACK, unit=ZRZY)
    do(svc, cid, "review", {"review_result": "退回重办", "review_comment": "缺少沟通对象签字"})
    do(svc, cid, "joint", JOINT, unit=ZRZY)
    do(svc, cid, "feedback", FEEDBACK, unit=ZRZY)
    do(svc, cid, "review", {"review_result": "通过"})
    view = do(svc, cid, "evaluate", {"quality_score": 80})
    assert view.case.status == "completed"
    data = view.case.data
    assert data["whistle_result"] == "resolved" and data["redo_count"] == 1
    scores = {s["dept"]: s for s in data["department_scores"]}
    assert scores[ZRZY] == {"dept": ZRZY, "role": "主办", "ack_late": False, "exemption_requested": True,
                            "exempted": False, "redo_count": 1, "score": round((100 - 10) * 0.6 + 80 * 0.4), "round": 1}
    assert scores[SFS] == {"dept": SFS, "role": "协办", "ack_late": True, "exemption_requested": False,
                           "exempted": False, "redo_count": 0, "score": round((100 - 20) * 0.6 + 80 * 0.4), "round": 1}


def test_replay_tells_apart_the_departments_of_a_multi_instance_whistle(svc, library):
    from engine.verify import iter_cases, verify_in_db
    cid = start_whistle(svc)
    dispatch(svc, cid)
    do(svc, cid, "ack", EXEMPT, unit=SFS)  # the second department acts first
    with svc.db.read() as session:
        [stored] = iter_cases(session)
        assert verify_in_db(session, svc.registry, svc.cases.script_engine, stored).ok


def test_a_worker_that_did_not_dispatch_the_departments_still_closes_their_sub_process(svc, settings, clock,
                                                                                       library):
    """A department finishing in a worker that loaded the case from its saved state (a restarted or
    other worker: its own freshly parsed specs) ends the multi-instance sub-process as the worker
    that dispatched it would, and as replay does: the joint handling is ready."""
    from api.core.services import build_services
    cid = start_whistle(svc)
    dispatch(svc, cid)
    other = build_services(settings, clock)
    try:
        for dept in (ZRZY, SFS):
            do(other, cid, "ack", ACK, unit=dept)
            view = do(other, cid, "report", REPORT, unit=dept)
    finally:
        other.db.dispose()
    assert [(t.element_id, t.jurisdiction) for t in view.tasks] == [("joint", ZRZY)]
    assert view.case.status == "active"


def test_a_rejected_order_is_redrafted_and_an_exempted_lead_is_replaced(svc, library):
    view = svc.cases.start("whistle_dispatch", {}, "town", TOWN)
    cid = view.case.id
    order = {**ORDER, "category": "婚姻家庭", "issue_type": "其他", "whistle_town": "/macheng/guishan/", "urgency": "normal"}
    do(svc, cid, "draft", order)
    do(svc, cid, "approve", {"approved": False, "approval_comment": "请补充诉求"})
    do(svc, cid, "draft", order)
    do(svc, cid, "approve", {"approved": True})
    assert (case(svc, cid).data["lead_dept"], case(svc, cid).data["co_depts"]) == (FULIAN, [MINZHENG])
    dispatch(svc, cid)
    do(svc, cid, "ack", EXEMPT, unit=FULIAN)
    do(svc, cid, "ack", ACK, unit=MINZHENG)
    do(svc, cid, "report", REPORT, unit=MINZHENG)
    # an exemption request the center refuses: the department must still report
    assert [t.element_id for t in ready(svc, cid)] == ["rule_exemption"]
    do(svc, cid, "rule_exemption", {"exemption_granted": True, "ruling_reason": "涉及就业援助，由人社局主办"})
    do(svc, cid, "reselect", {"lead_dept": RENSHE, "reselect_reason": "妇联获准退单"})
    [ack] = ready(svc, cid)
    assert (ack.element_id, ack.jurisdiction) == ("ack", RENSHE)
    do(svc, cid, "ack", EXEMPT, unit=RENSHE)
    do(svc, cid, "rule_exemption", {"exemption_granted": False, "ruling_reason": "属人社局职责，不予退单"})
    do(svc, cid, "report", REPORT, unit=RENSHE)
    [joint] = ready(svc, cid)
    assert joint.jurisdiction == RENSHE
    do(svc, cid, "joint", JOINT)
    do(svc, cid, "feedback", {**FEEDBACK, "outcome": "未解决"})
    do(svc, cid, "review", {"review_result": "通过"})
    do(svc, cid, "escalate", {"escalation_mode": "提请上级研判", "escalation_reason": "需市级统筹"})
    view = do(svc, cid, "evaluate", {"quality_score": 60})
    data = view.case.data
    assert view.case.status == "completed" and data["whistle_result"] == "escalate"
    roles = {(s["dept"], s["role"], s["exempted"]) for s in data["department_scores"]}
    assert roles == {(FULIAN, "主办", True), (MINZHENG, "协办", False), (RENSHE, "主办", False)}


def test_an_unresolved_town_whistle_becomes_a_city_whistle_then_ends_unresolved(svc, library):
    cid = start_whistle(svc, {**ORDER, "urgency": "urgent"})
    dispatch(svc, cid, lead_dept=ZRZY, co_depts=[])
    do(svc, cid, "ack", ACK)
    do(svc, cid, "report", REPORT)
    do(svc, cid, "joint", JOINT)
    do(svc, cid, "feedback", {**FEEDBACK, "outcome": "部分解决"})
    do(svc, cid, "review", {"review_result": "通过"})
    view = do(svc, cid, "escalate", {"escalation_mode": "市级吹哨", "escalation_reason": "乡镇层面协调不动"})
    assert view.case.data["whistle_level"] == "city" and view.case.data["whistle_round"] == 2
    assert [t.element_id for t in view.tasks] == ["confirm"]
    dispatch(svc, cid, co_depts=[])
    do(svc, cid, "ack", ACK)
    do(svc, cid, "report", REPORT)
    do(svc, cid, "joint", JOINT)
    do(svc, cid, "feedback", {**FEEDBACK, "outcome": "未解决"})
    do(svc, cid, "review", {"review_result": "通过"})
    # a city whistle cannot go higher: 市级吹哨 again falls to the default outcome
    do(svc, cid, "escalate", {"escalation_mode": "未化解结束", "escalation_reason": "当事人诉求超出政策"})
    view = do(svc, cid, "evaluate", {"quality_score": 70})
    assert view.case.status == "completed" and view.case.data["whistle_result"] == "unresolved"
    assert len(view.case.data["department_scores"]) == 2  # one record per department and round


def test_a_redo_is_charged_to_the_lead_of_its_round_only(svc, library):
    """The defect: every 主办 record was charged the case's whole redo count, so the town round's
    lead lost points for the city round's redo (and an exempted-then-replaced lead's successor for
    its predecessor's). Each redo now counts against the department that led when it happened."""
    cid = start_whistle(svc)
    dispatch(svc, cid, lead_dept=ZRZY, co_depts=[])
    for element_id, data in (("ack", ACK), ("report", REPORT), ("joint", JOINT),
                             ("feedback", {**FEEDBACK, "outcome": "未解决"}), ("review", {"review_result": "通过"})):
        do(svc, cid, element_id, data)
    do(svc, cid, "escalate", {"escalation_mode": "市级吹哨", "escalation_reason": "乡镇层面协调不动"})
    dispatch(svc, cid, lead_dept=SFS, co_depts=[])
    for element_id, data in (("ack", ACK), ("report", REPORT), ("joint", JOINT), ("feedback", FEEDBACK),
                             ("review", {"review_result": "退回重办", "review_comment": "缺少签字"}),
                             ("joint", JOINT), ("feedback", FEEDBACK), ("review", {"review_result": "通过"})):
        do(svc, cid, element_id, data)
    data = do(svc, cid, "evaluate", {"quality_score": 80}).case.data
    scores = {(s["dept"], s["round"]): (s["role"], s["redo_count"], s["score"]) for s in data["department_scores"]}
    assert scores == {(ZRZY, 1): ("主办", 0, round(100 * 0.6 + 80 * 0.4)),
                      (SFS, 2): ("主办", 1, round(90 * 0.6 + 80 * 0.4))}
    assert data["redo_count"] == 1


@pytest.mark.parametrize("category,town,issue_type,lead,co,joint", [
    ("婚姻家庭", "/macheng/songbu/", "其他", FULIAN, [SFS, PCS], False),
    ("劳动争议", "/macheng/guishan/", "其他", RENSHE, [], False),
    ("山林土地", "/macheng/guishan/", "其他", ZRZY, [], False),
    ("邻里", "/macheng/songbu/", "其他", SFS, [PCS], False),
    ("邻里", "/macheng/songbu/", "救助帮扶", MINZHENG, [], False),
    ("物业", "/macheng/songbu/", "安全稳控", PCS, [SFS], False),
    ("合同", "/macheng/guishan/", "信访诉求", "/macheng/xinfang/", [], False),
    ("消费", "/macheng/songbu/", "其他", "/macheng/songbu/", [SFS], True),
    ("消费", "/macheng/guishan/", "其他", "/macheng/guishan/", [], True),
])
def test_department_selection_follows_the_responsibility_list(svc, library, category, town, issue_type, lead, co, joint):
    cid = start_whistle(svc, {**ORDER, "category": category, "whistle_town": town, "issue_type": issue_type})
    data = case(svc, cid).data
    assert (data["lead_dept"], data["co_depts"], data["joint_meeting"]) == (lead, co, joint)


def five_batches_through(svc, cid):
    """Drive the called five_batches (helper A's P4) to 'resolved' with its forms' own examples."""
    for _ in range(20):
        tasks = [t for t in ready(svc, cid) if not t.element_id.startswith(("joint", "feedback", "review", "evaluate"))]
        if not tasks:
            return
        task = tasks[0]
        data = example(task.form_key)
        if task.element_id == "plan":
            data["paths"] = ["培树新风"]
        if task.element_id == "assess":
            data["assessment"] = "已化解"
        view = svc.cases.complete_task(task.id, data, "tester")
        assert view.case.status != "incident", view.case.incident
    raise AssertionError("five_batches did not finish")


def test_joint_handling_may_call_five_batches_and_leader_ownership_resolves(svc, library):
    cid = start_whistle(svc)
    dispatch(svc, cid, co_depts=[])
    do(svc, cid, "ack", ACK)
    do(svc, cid, "report", REPORT)
    do(svc, cid, "joint", {**JOINT, "need_five_batches": True})
    five_batches_through(svc, cid)
    do(svc, cid, "feedback", {**FEEDBACK, "outcome": "未解决"})
    do(svc, cid, "review", {"review_result": "通过"})
    do(svc, cid, "escalate", {"escalation_mode": "领导包案", "escalation_reason": "需领导协调政策"})
    five_batches_through(svc, cid)
    view = do(svc, cid, "evaluate", {"quality_score": 85})
    assert view.case.status == "completed"
    assert view.case.data["whistle_result"] == "resolved" and view.case.data["batch_result"] == "resolved"


def test_the_feedback_asks_for_the_four_elements_only(svc, library):
    """主办反馈（四要素）: 受理时间、与谁沟通、解决措施、解决时限 are required, nothing more; a reply
    without an outcome (办理结果) is not resolved, and a redo forgets the earlier outcome."""
    schema = json.loads((FORMS / "whistle_feedback.schema.json").read_text("utf-8"))
    assert schema["required"] == ["accepted_at", "contact_person", "measures", "time_limit"]
    four = {k: FEEDBACK[k] for k in schema["required"]}
    cid = start_whistle(svc)
    dispatch(svc, cid, lead_dept=ZRZY, co_depts=[])
    do(svc, cid, "ack", ACK)
    do(svc, cid, "report", REPORT)
    do(svc, cid, "joint", JOINT)
    do(svc, cid, "feedback", {**four, "outcome": "已解决"})
    do(svc, cid, "review", {"review_result": "退回重办", "review_comment": "措施未落实"})
    do(svc, cid, "joint", JOINT)
    do(svc, cid, "feedback", four)                                   # the four elements alone are accepted
    view = do(svc, cid, "review", {"review_result": "通过"})
    assert [t.element_id for t in view.tasks] == ["escalate"]         # no outcome named: not resolved
