"""P5 escalation_closure (升级、依法导入、结案回访), started on its own as a top-level process with
the data a caller passes (it is a call activity of dispute_intake in production)."""
from __future__ import annotations


import pytest


from .process_support import FORMS, case, do, example, ready  # noqa: F401

pytestmark = pytest.mark.usefixtures("verify_all_cases")

VILLAGE = "/macheng/songbu/songbu-yangjiawan/"


def start(svc, **data):
    base = {"closure_route": "closure", "risk_level": "yellow", "owner_level": "village", "handoff_route": "court"}
    return svc.cases.start("escalation_closure", {**base, **data}, "mediator", VILLAGE).case.id


REVISIT_OK = example("closure_revisit")
REVIEW_OK = example("closure_review")


def to_revisit(svc, clock, cid):
    do(svc, cid, "verify", example("closure_verify"), role="town_officer")
    assert [t.element_id for t in ready(svc, cid)] == []
    clock.advance(days=7, seconds=1)
    assert svc.cases.fire_due_timers() == 1
    assert [(t.element_id, t.role) for t in ready(svc, cid)] == [("revisit", "grid_worker")]


def watch_ends(svc, clock, cid):
    clock.advance(days=90, seconds=1)
    assert svc.cases.fire_due_timers() == 1
    return case(svc, cid)


def test_closure_after_a_satisfied_revisit_then_a_recurrence_within_90_days_is_flagged(svc, library, clock):
    cid = start(svc)
    to_revisit(svc, clock, cid)
    do(svc, cid, "revisit", REVISIT_OK)
    view = do(svc, cid, "review", REVIEW_OK)
    assert view.case.status == "waiting" and view.case.data["closure_state"] == "closed_resolved"
    clock.advance(days=40)
    assert svc.cases.fire_due_timers() == 0
    [view] = svc.cases.deliver_message("recurrence_reported", {"case_no": view.case.case_no},
                                       {"recurrence_case_no": "MC-20260411-0002"}, "recur-1", "grid")
    assert view.case.data["recurrence"] is True
    view = do(svc, cid, "recurrence_link", example("closure_recurrence"))
    assert view.case.status == "completed" and view.case.data["recurrence"] is True


def test_a_quiet_90_day_watch_ends_without_recurrence(svc, library, clock):
    cid = start(svc)
    to_revisit(svc, clock, cid)
    do(svc, cid, "revisit", REVISIT_OK)
    do(svc, cid, "review", REVIEW_OK)
    clock.advance(days=89)
    assert svc.cases.fire_due_timers() == 0
    closed = watch_ends(svc, clock, cid)
    assert closed.status == "completed" and closed.data["recurrence"] is False
    with pytest.raises(Exception):
        svc.cases.deliver_message("recurrence_reported", {"case_no": closed.case_no}, {}, "late", "grid")


@pytest.mark.parametrize("risk", ["red", "orange"])
def test_high_risk_closure_needs_a_second_different_reviewer(svc, library, clock, risk):
    cid = start(svc, risk_level=risk)
    to_revisit(svc, clock, cid)
    do(svc, cid, "revisit", REVISIT_OK)
    do(svc, cid, "review", {**REVIEW_OK, "reviewer": "张专员"})
    do(svc, cid, "second_review", {"second_approved": True, "second_reviewer": "张专员"}, role="town_director")
    # the same person cannot review twice: the second review is offered again
    do(svc, cid, "second_review", {"second_approved": False, "second_reviewer": "刘主任", "second_note": "缺回访笔录"})
    do(svc, cid, "verify", example("closure_verify"))           # back to verification
    clock.advance(days=7, seconds=1)
    svc.cases.fire_due_timers()
    do(svc, cid, "revisit", REVISIT_OK)
    do(svc, cid, "review", {**REVIEW_OK, "reviewer": "张专员"})
    view = do(svc, cid, "second_review", {"second_approved": True, "second_reviewer": "刘主任"})
    assert view.case.data["closure_state"] == "closed_resolved"
    assert watch_ends(svc, clock, cid).status == "completed"


def test_a_rejected_closure_review_goes_back_to_verification(svc, library, clock):
    cid = start(svc, risk_level="green")
    to_revisit(svc, clock, cid)
    do(svc, cid, "revisit", REVISIT_OK)
    view = do(svc, cid, "review", {**REVIEW_OK, "review_approved": False})
    assert [t.element_id for t in view.tasks] == ["verify"]


@pytest.mark.parametrize("urge_result,state", [
    ("已履行", "closed_resolved"),
    ("未履行-引导诉讼或申请强制执行", "closed_transferred"),
    ("未履行-重新调处", "reopened"),
])
def test_a_revisit_finding_no_performance_leads_to_urging(svc, library, clock, urge_result, state):
    cid = start(svc)
    to_revisit(svc, clock, cid)
    do(svc, cid, "revisit", {**REVISIT_OK, "performed": False, "satisfaction": "基本满意"})
    view = do(svc, cid, "urge", example("closure_urge", urge_result=urge_result), role="village_mediator")
    if state == "reopened":
        assert view.case.status == "completed" and view.case.data["closure_state"] == "reopened"
        return
    view = do(svc, cid, "review", REVIEW_OK)
    assert view.case.data["closure_state"] == state
    assert watch_ends(svc, clock, cid).status == "completed"


@pytest.mark.parametrize("decision,state", [("重新开案", "reopened"), ("说明理由后结案", "closed_unresolved")])
def test_a_dissatisfied_party_triggers_a_review(svc, library, clock, decision, state):
    cid = start(svc)
    to_revisit(svc, clock, cid)
    do(svc, cid, "revisit", {**REVISIT_OK, "satisfaction": "不满意"})
    view = do(svc, cid, "dissatisfied", {"review_decision": decision, "review_reason": "当事人提出新证据"},
              role="town_director")
    if state == "reopened":
        assert view.case.status == "completed" and view.case.data["closure_state"] == "reopened"
        return
    view = do(svc, cid, "review", REVIEW_OK)
    assert view.case.data["closure_state"] == state


HANDOFF = example("closure_handoff")


def test_court_hand_off_is_tracked_until_the_court_reports(svc, library, clock):
    cid = start(svc, closure_route="handoff", handoff_route="court")
    view = do(svc, cid, "handoff_court", HANDOFF, role="justice_officer")
    assert view.case.status == "waiting"
    [view] = svc.cases.deliver_message("external_outcome", {"case_no": view.case.case_no},
                                       {"external_ref": "(2026)鄂1181民初100号", "external_result": "调解成功"},
                                       "court-1", "court")
    assert view.case.data["handed_off"] is True and [t.element_id for t in view.tasks] == ["verify"]
    to_revisit(svc, clock, cid)
    do(svc, cid, "revisit", REVISIT_OK)
    view = do(svc, cid, "review", REVIEW_OK)
    assert view.case.data["closure_state"] == "closed_transferred"


def test_police_hand_off_is_checked_monthly_until_a_result_is_known(svc, library, clock):
    cid = start(svc, closure_route="handoff", handoff_route="police")
    do(svc, cid, "handoff_police", {**HANDOFF, "handoff_mode": "治安调解"}, role="police_liaison")
    clock.advance(days=31, seconds=1)
    assert svc.cases.fire_due_timers() == 1
    do(svc, cid, "track", {"outcome_known": False, "track_note": "派出所尚在调查"})
    clock.advance(days=31, seconds=1)
    assert svc.cases.fire_due_timers() == 1
    view = do(svc, cid, "track", example("closure_track", external_result="治安处罚"))
    assert [t.element_id for t in view.tasks] == ["verify"]


def test_an_inadmissible_petition_is_rerouted_and_arbitration_is_tracked(svc, library, clock):
    cid = start(svc, closure_route="handoff", handoff_route="petition")
    do(svc, cid, "handoff_petition", example("closure_handoff_petition", petition_admissible=False,
                                               admissibility_reason="属劳动争议，应通过仲裁解决"))
    do(svc, cid, "reroute", {"handoff_route": "arbitration", "reroute_reason": "引导劳动人事仲裁"})
    view = do(svc, cid, "handoff_arbitration", {**HANDOFF, "handoff_mode": "劳动人事仲裁"})
    assert view.case.status == "waiting"


def test_an_admissible_petition_is_handed_to_the_petition_bureau(svc, library):
    cid = start(svc, closure_route="handoff", handoff_route="petition")
    view = do(svc, cid, "handoff_petition", example("closure_handoff_petition"))
    assert view.case.status == "waiting" and view.case.data["petition_admissible"] is True


def test_escalation_from_the_village_to_the_town_after_one_return(svc, library):
    cid = start(svc, closure_route="escalation", owner_level="village")
    do(svc, cid, "report_village", example("closure_escalation_report"), role="village_mediator")
    do(svc, cid, "accept_town", {"accepted": False, "accept_note": "请补充调查记录"}, role="town_director")
    do(svc, cid, "report_village", example("closure_escalation_report"))
    view = do(svc, cid, "accept_town", {"accepted": True})
    assert view.case.status == "completed"
    assert (view.case.data["closure_state"], view.case.data["owner_level"]) == ("escalated", "town")


def test_escalation_from_the_town_to_the_city(svc, library):
    cid = start(svc, closure_route="escalation", owner_level="town", risk_level="red")
    do(svc, cid, "report_town", example("closure_escalation_report", escalation_reason="风险等级上升"),
       role="town_director")
    view = do(svc, cid, "accept_city", {"accepted": True}, role="city_officer")
    assert (view.case.data["closure_state"], view.case.data["owner_level"]) == ("escalated", "city")
