"""P1 dispute_intake (矛盾纠纷受理研判分流): the top-level case, end to end with the owner processes
and escalation_closure (P5). Tasks of processes owned by others are driven with their forms' examples."""
from __future__ import annotations

import pytest

from tests.test_process_mediation import (GRID, advance, case_of, do, drive_foreign, library,  # noqa: F401
                                          ready_ids, sent, timers)

pytestmark = pytest.mark.usefixtures("verify_all_cases")

SATISFIED = {"satisfaction": "满意", "performed": True, "performance_ok": True, "recurrence": False}
# A yellow dispute (not 五小-small: 5,000 yuan) is triaged by the town; a green one goes straight to the village.
YELLOW = {"amount": 5000}


def start(svc, **data):
    return svc.cases.start("dispute_intake", data, "grid", GRID).case.id


def register_and_triage(svc, cid, classify=None, risk=None, scope=None):
    do(svc, cid, "register")
    do(svc, cid, "notice")
    do(svc, cid, "classify", {**YELLOW, **(classify or {})})
    do(svc, cid, "risk_confirm", risk or {})
    do(svc, cid, "scope_check", scope or {})


def register_green(svc, cid):
    """A green 五小 dispute (the classify form's example): registered and classified in the grid."""
    do(svc, cid, "register")
    do(svc, cid, "notice")
    do(svc, cid, "classify")


def test_neighbour_dispute_mediated_in_the_village_and_closed_after_revisit(svc, library, clock):
    cid = start(svc)
    register_green(svc, cid)
    case = case_of(svc, cid)
    assert (case.data["risk_proposed"], case.data["risk_level"]) == ("green", "green")
    assert case.data["owner_level"] == "village" and case.data["village_first"] is True
    assert ready_ids(svc, cid) == ["accept_village"]                  # no town triage: 小事不出村
    do(svc, cid, "accept_village")
    do(svc, cid, "appoint")
    do(svc, cid, "investigate")
    do(svc, cid, "session", session_outcome="达成协议")
    do(svc, cid, "draft")
    do(svc, cid, "sign", wants_judicial_confirmation=False)
    assert case_of(svc, cid).data["closure_route"] == "closure"
    done = drive_foreign(svc, clock, cid, SATISFIED)
    case = case_of(svc, cid)
    assert case.status == "completed", ready_ids(svc, cid)
    assert "revisit" in done and "verify_village" in done and "review_village" in done
    assert "verify" not in done and "review" not in done              # closed in the village
    assert case.data["closure_state"] == "closed_resolved" and case.data["intake_result"] == "closed_resolved"
    assert case.data["satisfaction"] == "满意"


@pytest.mark.parametrize("scope", [
    {"willing": False, "refusing_party": "李某"},                       # one party refuses: mediation is barred
    {"in_scope": False, "out_of_scope_reason": "法院已立案受理"},        # already accepted by a court
])
def test_refusal_or_out_of_scope_is_guided_to_a_statutory_route(svc, library, clock, scope):
    cid = start(svc)
    register_and_triage(svc, cid, scope=scope)
    assert ready_ids(svc, cid) == ["guide"]
    do(svc, cid, "guide", handoff_route="court")
    case = case_of(svc, cid)
    assert (case.data["closure_route"], case.data["handoff_route"]) == ("handoff", "court")
    assert "accept_village" not in ready_ids(svc, cid) and "appoint" not in ready_ids(svc, cid)
    drive_foreign(svc, clock, cid, {"court_case_no": "(2026)鄂1181民初1号"})
    case = case_of(svc, cid)
    assert case.status == "completed" and case.data["intake_result"] == "guided"


def test_duplicate_is_merged_into_the_open_case(svc, library, clock):
    cid = start(svc)
    do(svc, cid, "register", duplicate_of="MC-20260301-0007")
    case = case_of(svc, cid)
    assert case.status == "completed" and case.data["intake_result"] == "merged"
    assert sent(svc, cid) == ["repeat_contact"]


def test_duplicate_flag_in_the_start_data(svc, library, clock):
    cid = start(svc, duplicate_of="MC-20260301-0007", channel="transfer_in")
    do(svc, cid, "register", channel="transfer_in", duplicate_of="MC-20260301-0007")
    assert case_of(svc, cid).data["intake_result"] == "merged"


def _ready(svc, cid):
    return __import__("tests.test_process_mediation", fromlist=["ready"]).ready(svc, cid)


def test_one_key_call_escalates_to_the_village_then_the_town(svc, library, clock):
    cid = start(svc, channel="one_key_call")
    [task] = _ready(svc, cid)
    assert task.element_id == "register_onekey" and task.role == "grid_worker"
    assert task.jurisdiction == GRID                                      # the grid of the caller's address
    assert (task.due_at - task.created_at).total_seconds() == 600        # 即呼即应: 10 minutes
    assert advance(svc, clock, minutes=10, seconds=1) == 1
    assert sent(svc, cid) == ["one_key_overdue"]
    assert ready_ids(svc, cid) == ["register_onekey", "onekey_escalate_village"]
    [village] = [t for t in _ready(svc, cid) if t.element_id == "onekey_escalate_village"]
    assert (village.role, village.jurisdiction) == ("village_secretary", "/macheng/songbu/songbu-yangjiawan/")
    do(svc, cid, "onekey_escalate_village")                               # the village urged; still no answer
    assert advance(svc, clock, minutes=20) == 1                           # 30 minutes from the call
    [town] = [t for t in _ready(svc, cid) if t.element_id == "onekey_escalate"]
    assert (town.role, town.jurisdiction) == ("town_officer", "/macheng/songbu/")
    do(svc, cid, "register_onekey", channel="one_key_call")               # the answer ends the ladder
    assert ready_ids(svc, cid) == ["notice"]
    assert case_of(svc, cid).data["onekey_answered_role"] == "grid_worker"


def test_one_key_call_answered_in_time_raises_no_alarm(svc, library, clock):
    cid = start(svc, channel="one_key_call")
    advance(svc, clock, minutes=5)
    do(svc, cid, "register_onekey", channel="one_key_call")
    advance(svc, clock, minutes=40)
    assert sent(svc, cid) == [] and ready_ids(svc, cid) == ["notice"]


def test_one_key_call_goes_to_the_building_head_and_the_grid_worker_first_one_answers(svc, library, clock):
    cid = start(svc, channel="one_key_call", building_head_user="louzhang")
    tasks = {t.element_id: t for t in _ready(svc, cid)}
    assert sorted(tasks) == ["register_onekey", "register_onekey_head"]
    head = tasks["register_onekey_head"]
    assert (head.role, head.assignee) == ("building_head", "louzhang")
    advance(svc, clock, minutes=3)
    svc.cases.complete_task(head.id, _register_example(), "louzhang")
    assert ready_ids(svc, cid) == ["notice"]                               # the grid worker's offer is withdrawn
    assert case_of(svc, cid).data["onekey_answered_role"] == "building_head"
    advance(svc, clock, minutes=40)
    assert sent(svc, cid) == []


def _register_example():
    import json
    from pathlib import Path
    schema = json.loads((Path(__file__).resolve().parent.parent / "workflows/forms/intake_register.schema.json")
                        .read_text(encoding="utf-8"))
    return {**schema["examples"][0], "channel": "one_key_call"}


RED = {"category": "婚姻家庭", "wuxiao": False, "involved_count": 3, "amount": 0, "risk_flags": ["家暴", "民转刑"],
       "emergency": False}


def test_red_case_goes_to_the_city_with_leader_ownership(svc, library, clock):
    cid = start(svc)
    register_and_triage(svc, cid, classify=RED)
    case = case_of(svc, cid)
    assert (case.data["risk_level"], case.data["owner_level_proposed"]) == ("red", "city")
    do(svc, cid, "route_confirm")
    assert ready_ids(svc, cid) == ["accept_city"]
    assert timers(svc, cid)["t_city"] is not None
    do(svc, cid, "accept_city")
    assert case_of(svc, cid).data["leader_required"] is True
    do(svc, cid, "plan", paths=["法治教育"])
    assert sorted(ready_ids(svc, cid)) == ["a_assign", "c_explain"]              # path A is compulsory
    for element_id in ("a_assign", "a_work", "c_explain", "c_undertaking"):
        do(svc, cid, element_id)
    do(svc, cid, "assess", assessment="已化解")
    case = case_of(svc, cid)
    assert (case.data["batch_result"], case.data["closure_route"]) == ("resolved", "closure")
    done = drive_foreign(svc, clock, cid, SATISFIED)
    assert case_of(svc, cid).status == "completed" and "revisit" in done


def test_emergency_alerts_police_and_leader_while_the_case_goes_on(svc, library, clock):
    cid = start(svc)
    do(svc, cid, "register")
    do(svc, cid, "notice")
    do(svc, cid, "classify", {**RED, "risk_flags": ["无"], "emergency": True})
    do(svc, cid, "risk_confirm")
    assert sent(svc, cid) == ["police_dispatch", "leader_alert"]
    assert ready_ids(svc, cid) == ["scope_check"]


def test_orange_emergency_alerts_police_only(svc, library, clock):
    cid = start(svc)
    do(svc, cid, "register")
    do(svc, cid, "notice")
    do(svc, cid, "classify", {**RED, "risk_flags": ["无"], "emergency": True})
    do(svc, cid, "risk_confirm", risk_override=True, risk_override_level="orange", risk_override_reason="双方已被劝离")
    assert case_of(svc, cid).data["risk_level"] == "orange"
    assert sent(svc, cid) == ["police_dispatch"]


@pytest.mark.parametrize("risk_level,hours", [("yellow", 24), ("red", 2)])
def test_first_handler_accept_timer_reminds_the_town_director(svc, library, clock, risk_level, hours):
    cid = start(svc)
    register_and_triage(svc, cid, risk={"risk_override": True, "risk_override_level": risk_level,
                                        "risk_override_reason": "研判改判"})
    do(svc, cid, "route_confirm", route_override=True, owner_level_override="town", multi_department_override=False,
       route_override_reason="镇街首调")
    assert ready_ids(svc, cid) == ["accept_town"]
    assert advance(svc, clock, hours=hours - 1) == 0
    assert advance(svc, clock, hours=1, seconds=1) == 1
    assert sorted(ready_ids(svc, cid)) == ["accept_town", "supervise"]
    do(svc, cid, "supervise")
    assert ready_ids(svc, cid) == ["accept_town"]                              # the receiver still has to sign


def test_village_rejects_a_green_dispute_and_the_town_triages_it(svc, library, clock):
    cid = start(svc)
    register_green(svc, cid)
    do(svc, cid, "accept_village", accepted=False, reject_reason="一方拒绝村级调解")
    assert ready_ids(svc, cid) == ["risk_confirm"]                     # pulled in: the town triages it
    do(svc, cid, "risk_confirm")
    do(svc, cid, "scope_check")
    do(svc, cid, "route_confirm", route_override=True, owner_level_override="town", multi_department_override=False,
       route_override_reason="镇级首调")
    assert ready_ids(svc, cid) == ["accept_town"]
    assert case_of(svc, cid).data["village_first"] is False


def test_a_green_dispute_needing_several_departments_is_triaged_by_the_town(svc, library, clock):
    cid = start(svc)
    do(svc, cid, "register")
    do(svc, cid, "notice")
    do(svc, cid, "classify", category="物业", category_l2="物业/收费")   # green, but 物业 is a departments' matter
    case = case_of(svc, cid)
    assert (case.data["risk_proposed"], case.data["multi_department_proposed"]) == ("green", True)
    assert ready_ids(svc, cid) == ["risk_confirm"] and case.data["village_first"] is False


def test_receiver_rejects_with_reasons_and_the_center_reroutes(svc, library, clock):
    cid = start(svc)
    register_and_triage(svc, cid)
    do(svc, cid, "route_confirm")
    do(svc, cid, "accept_village", accepted=False, reject_reason="涉及镇属企业，村级无法调处")
    assert ready_ids(svc, cid) == ["route_confirm"]
    do(svc, cid, "route_confirm", route_override=True, owner_level_override="town", multi_department_override=True,
       route_override_reason="涉企纠纷，镇级吹哨")
    assert ready_ids(svc, cid) == ["accept_town"]
    do(svc, cid, "accept_town")
    case = case_of(svc, cid)
    assert (case.data["owner_process"], case.data["whistle_level"], case.data["route_round"]) == ("whistle_dispatch", "town", 2)


def test_orange_multi_department_case_is_whistled_at_the_town(svc, library, clock):
    cid = start(svc)
    register_and_triage(svc, cid, classify={"category": "劳动争议", "wuxiao": False, "involved_count": 12,
                                            "amount": 80000, "risk_flags": ["群体性"], "emergency": False})
    case = case_of(svc, cid)
    assert (case.data["risk_level"], case.data["owner_level"], case.data["multi_department"]) == ("orange", "town", True)
    do(svc, cid, "route_confirm")
    do(svc, cid, "accept_town")
    assert case_of(svc, cid).data["urgency"] == "high"
    drive_foreign(svc, clock, cid, SATISFIED)
    case = case_of(svc, cid)
    assert case.status == "completed", ready_ids(svc, cid)
    assert case.data["whistle_result"] == "resolved" and case.data["closure_route"] == "closure"


def test_village_escalation_reruns_triage_at_the_town_and_is_signed_once(svc, library, clock):
    cid = start(svc)
    register_green(svc, cid)
    do(svc, cid, "accept_village")
    do(svc, cid, "appoint")
    do(svc, cid, "investigate")
    do(svc, cid, "session", session_outcome="需升级")
    assert case_of(svc, cid).data["closure_route"] == "escalation"
    drive_foreign(svc, clock, cid, SATISFIED)
    case = case_of(svc, cid)
    assert ready_ids(svc, cid) == ["risk_confirm"], ready_ids(svc, cid)        # P1 T5 again
    assert (case.data["closure_state"], case.data["owner_level"]) == ("escalated", "town")
    do(svc, cid, "risk_confirm")
    do(svc, cid, "scope_check")
    assert case_of(svc, cid).data["owner_level"] == "town"                     # never below the escalated level
    do(svc, cid, "route_confirm")
    case = case_of(svc, cid)
    assert (case.data["signed_level"], case.data["owner_process"]) == ("town", "whistle_dispatch")
    assert "accept_town" not in ready_ids(svc, cid)                   # signed in P5 already: once per level


LEAD = {"summary": "110 警情：夫妻争吵，女方称被推搡", "category": "婚姻家庭", "source": "police_110",
        "source_ref": "110-20260302-0042", "channel": "lead",
        "parties": [{"role": "主要当事人", "name": "王某"}, {"role": "主要当事人", "name": "陈某"}]}


def test_lead_converted_message_starts_a_prefilled_case(svc, library, clock):
    [view] = svc.cases.deliver_message("lead_converted", {}, LEAD, "lead-42", "case:lead", start_in=GRID)
    cid = view.case.id
    case = case_of(svc, cid)
    assert case.process_key == "dispute_intake" and case.jurisdiction == GRID
    assert (case.data["channel"], case.data["source_ref"], case.data["duplicate_of"]) == ("lead", "110-20260302-0042", None)
    assert ready_ids(svc, cid) == ["register"]                                  # not the one-key response step
    do(svc, cid, "register", channel="lead", summary=LEAD["summary"], parties=LEAD["parties"], source_ref=LEAD["source_ref"])
    assert ready_ids(svc, cid) == ["notice"]
