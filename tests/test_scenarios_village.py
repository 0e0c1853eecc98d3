"""Issue 13, village-first (小事不出村), through HTTP with the seeded demo logins only: who did each
step (from the audit trail), which level was ever given a task, and how the statistics move.

(a) a green 邻里 dispute registered by the grid worker is settled in 杨家湾村 with no town task;
(a') the same when the village mediator registers it (a case started in the village, as the web
     登记纠纷 page starts it: no jurisdiction given, the mediator's own village);
(b) a failed village mediation is escalated once to the town (one town sign), whistled to two
    departments (中心吹哨、部门报到), and both departments are scored;
and a quick mediation (简易纠纷就地调处) counts in the statistics like any case."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.models import CaseEvent, CaseTask

from .process_support import example
from .test_assignment_scenarios import inbox, start
from .test_process_mediation import library, timers  # noqa: F401 - the bundled processes, deployed

pytestmark = pytest.mark.usefixtures("verify_all_cases")

TOWN = "/macheng/songbu/"
VILLAGE = TOWN + "songbu-yangjiawan/"
GRID = VILLAGE + "songbu-yangjiawan-g1/"
ZRZY, SFS = "/macheng/ziranziyuan/", TOWN + "songbu-sifasuo/"
SIGN_FORMS = ("intake_accept", "closure_accept")          # 签收: first-handler rule (P1) and escalation (P5)
KPI_MOVES = ("cases", "resolved", "closed", "closed_on_time", "revisited", "satisfied", "first_signed")
NEIGHBOURS = {"title": "张某与李某排水沟纠纷", "category": "邻里", "summary": "两户排水沟堵塞，雨天污水漫入院内。",
              "channel": "grid_patrol"}
REVISIT = {"satisfaction": "满意", "performed": True}


class Actors:
    """The demo logins, signed in again after the clock jumps past a token's lifetime."""

    def __init__(self, login):
        self.login, self.headers = login, {}

    def __call__(self, username: str) -> dict[str, str]:
        if username not in self.headers:
            self.headers[username] = self.login(username)
        return self.headers[username]

    def refresh(self):
        self.headers.clear()


def step(client, as_user, case_id: int, element_id: str, **data) -> None:
    """The login signs for (签收) the task in its own inbox and completes it with its form's example."""
    task = inbox(client, as_user, case_id).get(element_id)
    assert task, f"{element_id} is not in this login's inbox: {sorted(inbox(client, as_user, case_id))}"
    if task["assignee"] is None:
        claimed = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=as_user)
        assert claimed.status_code == 200, claimed.get_json()
    body = {**(example(task["form_key"]) if task["form_key"] else {}), **data}
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=as_user, json={"data": body})
    assert done.status_code == 200, (element_id, done.get_json())


def trail(svc, case_id: int) -> list[tuple[str, str]]:
    """(element id, login) of every completed step, in order, from the case's audit events."""
    with svc.db.read() as session:
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                         CaseEvent.type == "task_completed").order_by(CaseEvent.seq))
        return [(e.payload["task"]["element_id"], e.actor) for e in events]


def tasks_of(svc, case_id: int) -> list[CaseTask]:
    with svc.db.read() as session:
        return list(session.scalars(select(CaseTask).where(CaseTask.case_id == case_id)
                                    .order_by(CaseTask.created_at, CaseTask.id)))


def wait_for_timer(svc, clock, case_id: int, actors: Actors) -> None:
    """Jump to the case's next timer (the revisit after 7 days) and fire it."""
    due = min(timers(svc, case_id).values())
    now = clock.now().replace(tzinfo=None) if due.tzinfo is None else clock.now()
    clock.advance(due - now + timedelta(seconds=1))
    assert svc.cases.fire_due_timers() >= 1
    actors.refresh()


def kpis(client, headers) -> dict:
    answer = client.get("/api/v1/stats/kpis", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["totals"]


def moved(before: dict, after: dict) -> dict[str, int]:
    return {k: after[k] - before[k] for k in KPI_MOVES}


def village_handled(client, headers) -> list[int]:
    answer = client.get("/api/v1/cases?handled_at=village", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return [c["id"] for c in answer.get_json()["items"]]


def test_a_grid_registered_neighbour_dispute_is_settled_in_the_village_with_no_town_task(
        client, login, svc, clock, library):
    as_ = Actors(login)
    before = kpis(client, as_("town"))
    case_id = start(client, as_("grid"), "dispute_intake", GRID, {"channel": "grid_patrol"})["id"]
    step(client, as_("grid"), case_id, "register", **NEIGHBOURS)
    step(client, as_("grid"), case_id, "notice")
    step(client, as_("grid"), case_id, "classify", category="邻里", wuxiao=True, amount=0)   # green: 五小, no money
    assert inbox(client, as_("town"), case_id) == {}                      # nothing for the town to triage
    # the town watches it (村级办理, read-only), the other town does not see it at all
    assert case_id in village_handled(client, as_("town"))
    step(client, as_("mediator"), case_id, "accept_village")              # 首办: the village signs
    assert case_id in village_handled(client, as_("director"))
    assert case_id not in village_handled(client, as_("town_gs"))
    for element_id in ("appoint", "investigate"):
        step(client, as_("mediator"), case_id, element_id)
    step(client, as_("mediator"), case_id, "session", session_outcome="达成协议")
    step(client, as_("mediator"), case_id, "draft", agreement_form="口头")   # an oral agreement, recorded
    step(client, as_("mediator"), case_id, "verify_village", outcome_type="口头协议")
    wait_for_timer(svc, clock, case_id, as_)
    step(client, as_("grid"), case_id, "revisit", **REVISIT)
    step(client, as_("secretary"), case_id, "review_village", reviewer="村书记")

    assert trail(svc, case_id) == [
        ("register", "grid"), ("notice", "grid"), ("classify", "grid"), ("accept_village", "mediator"),
        ("appoint", "mediator"), ("investigate", "mediator"), ("session", "mediator"), ("draft", "mediator"),
        ("verify_village", "mediator"), ("revisit", "grid"), ("review_village", "secretary")]
    # no task was ever offered at the town (or above): every one stayed in the village or its grid
    assert {(t.role, t.jurisdiction) for t in tasks_of(svc, case_id)} == {
        ("grid_worker", GRID), ("village_mediator", VILLAGE), ("village_secretary", VILLAGE)}
    case = client.get(f"/api/v1/cases/{case_id}", headers=as_("town")).get_json()
    assert case["first_handler"] == "grid"                                # the first to touch it (docs/assignment.md)
    after = kpis(client, as_("town"))
    assert moved(before, after) == {"cases": 1, "resolved": 1, "closed": 1, "closed_on_time": 1, "revisited": 1,
                                    "satisfied": 1, "first_signed": 1}
    assert after["resolution_rate"] == 1.0 and after["on_time_rate"] == 1.0
    by_village = {g["key"]: g for g in client.get("/api/v1/stats/kpis?group_by=village",
                                                  headers=as_("town")).get_json()["groups"]}
    assert by_village[VILLAGE]["resolved"] == 1


def test_a_village_registered_neighbour_dispute_is_settled_in_the_village_with_no_town_task(
        client, login, svc, clock, library):
    as_ = Actors(login)
    before = kpis(client, as_("town"))
    started = client.post("/api/v1/cases", headers=as_("mediator"), json={    # what the 登记纠纷 page sends
        "process_key": "dispute_intake", "data": {"channel": "walk_in"}, "title": NEIGHBOURS["title"]})
    assert started.status_code == 201, started.get_json()
    case_id = started.get_json()["id"]
    assert started.get_json()["jurisdiction"] == VILLAGE
    assert inbox(client, as_("grid"), case_id) == {}                      # not offered to the village's grids
    step(client, as_("mediator"), case_id, "register_village", **{**NEIGHBOURS, "channel": "walk_in"})
    step(client, as_("mediator"), case_id, "notice_village")
    step(client, as_("mediator"), case_id, "classify_village", category="邻里", wuxiao=True, amount=0)
    assert inbox(client, as_("town"), case_id) == {}
    assert case_id in village_handled(client, as_("town"))
    step(client, as_("mediator"), case_id, "accept_village")
    for element_id in ("appoint", "investigate"):
        step(client, as_("mediator"), case_id, element_id)
    step(client, as_("mediator"), case_id, "session", session_outcome="达成协议")
    step(client, as_("mediator"), case_id, "draft", agreement_form="口头")
    step(client, as_("mediator"), case_id, "verify_village", outcome_type="口头协议")
    wait_for_timer(svc, clock, case_id, as_)
    step(client, as_("grid"), case_id, "revisit", **REVISIT)                 # the village's grid worker revisits
    step(client, as_("secretary"), case_id, "review_village", reviewer="村书记")

    assert trail(svc, case_id) == [
        ("register_village", "mediator"), ("notice_village", "mediator"), ("classify_village", "mediator"),
        ("accept_village", "mediator"), ("appoint", "mediator"), ("investigate", "mediator"),
        ("session", "mediator"), ("draft", "mediator"), ("verify_village", "mediator"), ("revisit", "grid"),
        ("review_village", "secretary")]
    assert {(t.role, t.jurisdiction) for t in tasks_of(svc, case_id)} == {
        ("grid_worker", VILLAGE), ("village_mediator", VILLAGE), ("village_secretary", VILLAGE)}
    case = client.get(f"/api/v1/cases/{case_id}", headers=as_("town")).get_json()
    assert case["first_handler"] == "mediator"
    assert (case["data"]["village_first"], case["data"]["handled_at"]) == (True, "village")
    assert case["data"]["closure_state"] == "closed_resolved"
    after = kpis(client, as_("town"))
    assert moved(before, after) == {"cases": 1, "resolved": 1, "closed": 1, "closed_on_time": 1, "revisited": 1,
                                    "satisfied": 1, "first_signed": 1}
    by_village = {g["key"]: g for g in client.get("/api/v1/stats/kpis?group_by=village",
                                                  headers=as_("town")).get_json()["groups"]}
    assert by_village[VILLAGE]["resolved"] == 1


def test_a_failed_village_mediation_is_escalated_once_and_whistled_to_two_departments(
        client, login, svc, clock, library):
    as_ = Actors(login)
    before = kpis(client, as_("town"))
    case_id = start(client, as_("grid"), "dispute_intake", GRID, {"channel": "grid_patrol"})["id"]
    step(client, as_("grid"), case_id, "register", **{**NEIGHBOURS, "title": "王某与陈某宅基地界址纠纷",
                                                       "category": "房屋宅基地"})
    step(client, as_("grid"), case_id, "notice")
    step(client, as_("grid"), case_id, "classify", category="房屋宅基地", wuxiao=True, amount=0)
    step(client, as_("mediator"), case_id, "accept_village")
    for element_id in ("appoint", "investigate"):
        step(client, as_("mediator"), case_id, element_id)
    step(client, as_("mediator"), case_id, "session", session_outcome="调解不成")
    step(client, as_("mediator"), case_id, "terminate", next_step="升级至乡镇")
    step(client, as_("mediator"), case_id, "report_village")                  # 村级升级报告
    assert inbox(client, as_("town"), case_id) == {}                          # the director signs, not the officer
    assert case_id in village_handled(client, as_("town"))
    step(client, as_("director"), case_id, "accept_town")                     # 乡镇中心签收: the one town sign
    assert case_id not in village_handled(client, as_("town"))                # the town took it on
    # pulled in: the town triages the escalated case and whistles the departments (no second 签收)
    step(client, as_("town"), case_id, "risk_confirm")
    step(client, as_("town"), case_id, "scope_check")
    step(client, as_("town"), case_id, "route_confirm", route_override=True, owner_level_override="town",
         multi_department_override=True, route_override_reason="涉及确权，需自然资源和司法所协同")
    assert "accept_town" not in inbox(client, as_("town"), case_id)
    step(client, as_("town"), case_id, "draft")                               # 起草发哨单
    step(client, as_("director"), case_id, "approve", approved=True)
    step(client, as_("town"), case_id, "confirm", lead_dept=ZRZY, co_depts=[SFS])
    assert "ack" not in inbox(client, as_("dept"), case_id)                   # 民政局 was not whistled
    for dept in ("dept_ziran", "justice"):
        step(client, as_(dept), case_id, "ack", ack_decision="应哨", liaison_name="联络员")
        step(client, as_(dept), case_id, "report")
    step(client, as_("dept_ziran"), case_id, "joint", need_five_batches=False)
    step(client, as_("dept_ziran"), case_id, "feedback")
    step(client, as_("town"), case_id, "review", review_result="通过")
    step(client, as_("town"), case_id, "evaluate", quality_score=90)
    step(client, as_("town"), case_id, "verify")                              # closed at the town that owned it
    wait_for_timer(svc, clock, case_id, as_)
    step(client, as_("grid"), case_id, "revisit", **REVISIT)
    step(client, as_("town"), case_id, "review", reviewer="镇综治中心专员")

    done = trail(svc, case_id)
    assert done[:9] == [("register", "grid"), ("notice", "grid"), ("classify", "grid"),
                        ("accept_village", "mediator"), ("appoint", "mediator"), ("investigate", "mediator"),
                        ("session", "mediator"), ("terminate", "mediator"), ("report_village", "mediator")]
    assert done[9:14] == [("accept_town", "director"), ("risk_confirm", "town"), ("scope_check", "town"),
                          ("route_confirm", "town"), ("draft", "town")]
    assert sorted(actor for element, actor in done if element in ("ack", "report")) == [
        "dept_ziran", "dept_ziran", "justice", "justice"]
    # exactly one 签收 at the town: the escalation's, by the director
    signs = [t for t in tasks_of(svc, case_id) if t.form_key in SIGN_FORMS]
    assert sorted((t.element_id, t.jurisdiction, t.state, t.closed_by) for t in signs) == [
        ("accept_town", TOWN, "completed", "director"), ("accept_village", VILLAGE, "completed", "mediator")]
    case = client.get(f"/api/v1/cases/{case_id}", headers=as_("town")).get_json()
    assert (case["data"]["closure_state"], case["data"]["owner_level"]) == ("closed_resolved", "town")
    scores = {s["dept"]: s for s in case["data"]["department_scores"]}
    assert {(d, s["role"]) for d, s in scores.items()} == {(ZRZY, "主办"), (SFS, "协办")}
    assert all(isinstance(s["score"], int) for s in scores.values())
    after = kpis(client, as_("town"))
    assert moved(before, after) == {"cases": 1, "resolved": 1, "closed": 1, "closed_on_time": 1, "revisited": 1,
                                    "satisfied": 1, "first_signed": 1}
    departments = {d["dept"]: d for d in client.get("/api/v1/stats/practice", headers=as_("town"))
                   .get_json()["departments"]}
    for dept in (ZRZY, SFS):
        assert (departments[dept]["whistles"], departments[dept]["acknowledged"], departments[dept]["scored"]) == (
            1, 1, 1), dept


def test_a_quick_mediation_counts_in_the_statistics_and_the_towns_monitoring(client, login, svc, clock, library):
    as_ = Actors(login)
    before = kpis(client, as_("town"))
    case_id = start(client, as_("grid"), "quick_mediation", GRID)["id"]
    step(client, as_("grid"), case_id, "register", summary="两户因柴堆占道争吵", category="邻里", party_count=2,
         amount=0, escalation_signs=False)
    step(client, as_("grid"), case_id, "on_spot")                              # 就地调处 by the grid worker
    assert case_id in village_handled(client, as_("town"))
    wait_for_timer(svc, clock, case_id, as_)
    step(client, as_("grid"), case_id, "revisit", **REVISIT)
    assert trail(svc, case_id) == [("register", "grid"), ("on_spot", "grid"), ("revisit", "grid")]
    after = kpis(client, as_("town"))
    assert {k: after[k] - before[k] for k in ("cases", "resolved", "closed", "revisited", "satisfied")} == {
        "cases": 1, "resolved": 1, "closed": 1, "revisited": 1, "satisfied": 1}
    drill = client.get("/api/v1/stats/kpis/resolved/cases", headers=as_("town")).get_json()
    assert case_id in [c["id"] for c in drill["items"]]
