"""P4 five_batches (五个一批): every path alone, a combination, and every assessment outcome."""
from __future__ import annotations

import pytest

from tests.test_process_mediation import GRID, advance, case_of, do, library, ready_ids, sent  # noqa: F401

pytestmark = pytest.mark.usefixtures("verify_all_cases")


def start_p4(svc, **data):
    return svc.cases.start("five_batches", {"risk_level": "orange", **data}, "tester", GRID).case.id


def resolve(svc, cid, **assess):
    do(svc, cid, "assess", **({"assessment": "已化解"} | assess))
    return case_of(svc, cid)


PATH_STEPS = {
    "领导包案": [("a_assign", {}), ("a_work", {})],
    "落实政策": [("b_check", {"policy_eligible": True}), ("b_implement", {})],
    "法治教育": [("c_explain", {"unlawful_conduct": False}), ("c_undertaking", {})],
    "能人带动": [("d_select", {}), ("d_sessions", {})],
    "培树新风": [("e_review", {}), ("e_publicity", {})],
}


@pytest.mark.parametrize("path", list(PATH_STEPS))
def test_each_path_alone(svc, library, clock, path):
    cid = start_p4(svc)
    do(svc, cid, "plan", paths=[path])
    for element_id, data in PATH_STEPS[path]:
        assert ready_ids(svc, cid) == [element_id]
        do(svc, cid, element_id, data)
    case = resolve(svc, cid)
    assert case.status == "completed"
    assert case.data["batch_result"] == "resolved" and case.data["paths_used"] == [path]


def test_all_five_paths_together_with_the_alternative_branches(svc, library, clock):
    cid = start_p4(svc)
    do(svc, cid, "plan", paths=list(PATH_STEPS))
    assert sorted(ready_ids(svc, cid)) == sorted(["a_assign", "b_check", "c_explain", "d_select", "e_review"])
    do(svc, cid, "b_check", policy_eligible=False)               # not eligible: written explanation
    do(svc, cid, "b_explain")
    do(svc, cid, "c_explain", unlawful_conduct=True)              # unlawful conduct: police warning first
    do(svc, cid, "c_police")
    do(svc, cid, "c_undertaking")
    do(svc, cid, "d_select", elders_conflict=True)                # kinship: choose again
    do(svc, cid, "d_select", elders_conflict=False)
    do(svc, cid, "d_sessions")
    do(svc, cid, "e_review")
    do(svc, cid, "e_publicity", recognition=True)
    assert "assess" not in ready_ids(svc, cid)                    # the inclusive join waits for path A
    do(svc, cid, "a_assign")
    do(svc, cid, "a_work")
    case = resolve(svc, cid)
    assert case.data["batch_result"] == "resolved" and len(case.data["paths_used"]) == 5
    assert case.data["police_action"] == "训诫"


def test_red_case_always_gets_leader_ownership(svc, library, clock):
    cid = start_p4(svc, leader_required=True)
    do(svc, cid, "plan", paths=["法治教育"])
    assert sorted(ready_ids(svc, cid)) == ["a_assign", "c_explain"]
    assert case_of(svc, cid).data["paths_used"] == ["法治教育", "领导包案"]


def test_partial_result_loops_until_the_round_limit_then_escalates(svc, library, clock):
    cid = start_p4(svc)
    for round_no in (1, 2, 3):
        do(svc, cid, "plan", paths=["能人带动"])
        do(svc, cid, "d_select")
        do(svc, cid, "d_sessions")
        do(svc, cid, "assess", assessment="部分化解", unresolved_next="升级")
        if round_no < 3:
            assert ready_ids(svc, cid) == ["plan"]
    case = case_of(svc, cid)
    assert case.status == "completed" and case.data["batch_result"] == "escalate" and case.data["batch_round"] == 3


def test_unresolved_goes_to_a_statutory_route(svc, library, clock):
    cid = start_p4(svc)
    do(svc, cid, "plan", paths=["培树新风"])
    do(svc, cid, "e_review")
    do(svc, cid, "e_publicity")
    do(svc, cid, "assess", assessment="未化解", unresolved_next="依法导入", handoff_route="court")
    case = case_of(svc, cid)
    assert (case.data["batch_result"], case.data["handoff_route"]) == ("statutory", "court")


def test_leader_progress_reminder_and_maximum_term(svc, library, clock):
    cid = start_p4(svc, leader_required=True)
    do(svc, cid, "plan", paths=["领导包案"])
    do(svc, cid, "a_assign")
    assert advance(svc, clock, days=31, seconds=1) == 1          # monthly progress report is due
    assert sent(svc, cid) == ["leader_progress_due"] and "a_work" in ready_ids(svc, cid)
    advance(svc, clock, days=62)                                   # three months: the leader's term ran out
    assert "a_work" not in ready_ids(svc, cid) and "assess" in ready_ids(svc, cid)
    assert ready_ids(svc, cid) == ["assess"]                        # the term's end also ends the revisits
    assert case_of(svc, cid).data["leader_overdue"] is True
    do(svc, cid, "assess", assessment="部分化解", unresolved_next="升级")   # no further round after overdue
    assert case_of(svc, cid).data["batch_result"] == "escalate"


def test_a_red_case_under_a_leader_is_revisited_weekly_until_the_leader_closes_it(svc, library, clock):
    """The weekly revisit (每周回访) is a cycle timer on the leader's work: one task a week for the
    leader, none after the 包案 is closed, none for a case that is not red."""
    cid = start_p4(svc, leader_required=True, risk_level="red")
    do(svc, cid, "plan", paths=["领导包案"])
    do(svc, cid, "a_assign")
    assert ready_ids(svc, cid) == ["a_work"]
    advance(svc, clock, days=7, minutes=1)
    assert sorted(ready_ids(svc, cid)) == ["a_revisit", "a_work"]
    do(svc, cid, "a_revisit")
    advance(svc, clock, days=7)
    assert sorted(ready_ids(svc, cid)) == ["a_revisit", "a_work"]
    do(svc, cid, "a_revisit", parties_stable=False)
    advance(svc, clock, days=7)
    assert sorted(ready_ids(svc, cid)) == ["a_revisit", "a_work"]
    do(svc, cid, "a_work")                                         # closing the 包案 ends the open revisit
    assert ready_ids(svc, cid) == ["assess"]
    case = resolve(svc, cid)
    assert case.status == "completed" and case.data["batch_result"] == "resolved"
    advance(svc, clock, days=14)
    assert ready_ids(svc, cid) == []


def test_a_case_that_is_not_red_gets_no_weekly_revisit(svc, library, clock):
    cid = start_p4(svc)
    do(svc, cid, "plan", paths=["领导包案"])
    do(svc, cid, "a_assign")
    advance(svc, clock, days=7, minutes=1)
    assert ready_ids(svc, cid) == ["a_work"]
