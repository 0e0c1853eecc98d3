"""Scenario (e) of issue 13, through HTTP with the README's demo logins only: one-key calls
(群众按“1”、楼栋长就到, 5180 网格呼叫) answered by the 楼栋长/组长 of the caller's address, or not answered
and escalated to the village and then the town on the clock; 即呼即应率 and the response time move
with them, and the drill-down lists exactly the calls behind each figure. And part 7, 双网融合: a 110
lead that is no police matter goes to the grid of its address, the town's police liaison sees it
(and gets what the grid finds that concerns the police), and the city centre does nothing.

The calls and the 110 lead come from their outside systems through the intake API (a channel key,
as `cunliao intake-key create` issues it); the timers fire as the worker fires them."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from api.intake import service as intake
from api.intake.schemas import schema_of

from .test_process_mediation import library  # noqa: F401

pytestmark = pytest.mark.usefixtures("verify_all_cases")

FORMS = Path(__file__).resolve().parent.parent / "workflows" / "forms"
VILLAGE = "/macheng/songbu/songbu-yangjiawan/"
G1, G2 = VILLAGE + "songbu-yangjiawan-g1/", VILLAGE + "songbu-yangjiawan-g2/"
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def example(form_key: str, **override) -> dict:
    return {**json.loads((FORMS / f"{form_key}.schema.json").read_text("utf-8"))["examples"][0], **override}


def push(client, svc, channel: str, ref: str, **override) -> dict:
    key = {"X-Api-Key": intake.new_key(svc.db, channel, "scenario", svc.clock.now())}
    body = {**schema_of(channel)["examples"][0], "source_ref": ref, **override}
    response = client.post(f"/api/v1/intake/{channel}", headers=key, json=body)
    assert response.status_code == 201, response.get_json()
    return {**response.get_json(), "key": key}


def status(client, channel: str, pushed: dict) -> dict:
    response = client.get(f"/api/v1/intake/{channel}/{pushed['source_ref']}", headers=pushed["key"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def inbox(client, headers, case_no: str) -> dict[str, dict]:
    """The caller's open tasks of one case, by step."""
    response = client.get("/api/v1/tasks", headers=headers, query_string={"case_no": case_no})
    assert response.status_code == 200, response.get_json()
    return {task["element_id"]: task for task in response.get_json()}


def complete(client, headers, task: dict, data: dict) -> dict:
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers, json={"data": data})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def case(client, headers, case_id: int) -> dict:
    response = client.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def one_key(client, headers, **query) -> dict:
    response = client.get("/api/v1/stats/kpis", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    totals = response.get_json()["totals"]
    return {k: totals[k] for k in ("one_key_calls", "one_key_answered", "one_key_in_time", "one_key_rate",
                                   "one_key_response_seconds")}


def drilled(client, headers, kpi: str, **query) -> tuple[int, set[int]]:
    response = client.get(f"/api/v1/stats/kpis/{kpi}/cases", headers=headers,
                          query_string={**query, "page_size": 100})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return body["figure"], {item["id"] for item in body["items"]}


def test_one_key_calls_answered_by_the_building_head_or_escalated_village_then_town(client, svc, library, login,
                                                                                     clock):
    director = login("director")
    before = one_key(client, director, **MARCH)
    assert before["one_key_calls"] == 0 and before["one_key_rate"] is None

    # -- a call from 杨家湾村3组: its 组长 (louzhang) and the grid worker of 第一网格 get it at once
    first = push(client, svc, "one_key_call", "5180-0001", where={"address": "杨家湾村3组",
                                                                   "unit_code": "songbu-yangjiawan"})
    head, grid = login("louzhang"), login("grid")
    offered = inbox(client, head, first["case_no"])
    assert list(offered) == ["register_onekey_head"] and offered["register_onekey_head"]["assignee"] == "louzhang"
    assert list(inbox(client, grid, first["case_no"])) == ["register_onekey"]
    assert inbox(client, login("louzhang2"), first["case_no"]) == {}          # not the 组长 of another group
    clock.advance(timedelta(minutes=4))
    answered = complete(client, head, offered["register_onekey_head"],
                        example("intake_register", channel="one_key_call"))
    assert list(inbox(client, grid, first["case_no"])) == ["notice"]          # the offer withdrawn; the case goes on
    steps = {t["element_id"]: t for t in case(client, director, answered["id"])["tasks"]}
    assert "notice" in steps and answered["data"]["onekey_answered_role"] == "building_head"
    response = status(client, "one_key_call", first)["response"]
    assert (response["answered_by"], response["answered_role"]) == ("louzhang", "building_head")
    assert (response["response_seconds"], response["within_window"], response["escalated_to"]) == (240, True, None)
    after_first = one_key(client, director, **MARCH)
    assert after_first == {"one_key_calls": 1, "one_key_answered": 1, "one_key_in_time": 1, "one_key_rate": 1.0,
                           "one_key_response_seconds": 240.0}

    # -- a call from 杨家湾村5组 nobody answers: the village first, then the town
    second = push(client, svc, "one_key_call", "5180-0002", where={"address": "杨家湾村5组",
                                                                    "unit_code": "songbu-yangjiawan"})
    secretary, town = login("secretary"), login("town")
    assert set(inbox(client, login("louzhang2"), second["case_no"])) == {"register_onekey_head"}
    clock.advance(timedelta(minutes=10, seconds=1))
    assert svc.cases.fire_due_timers() == 1                                   # the worker's round
    village_step = inbox(client, secretary, second["case_no"])
    assert list(village_step) == ["onekey_escalate_village"]
    assert village_step["onekey_escalate_village"]["jurisdiction"] == VILLAGE
    assert inbox(client, town, second["case_no"]) == {}                       # not the town yet
    assert status(client, "one_key_call", second)["response"]["escalated_to"] == "village"
    complete(client, secretary, village_step["onekey_escalate_village"],
             example("intake_onekey_escalate", escalation_action="电话督促到场"))
    clock.advance(timedelta(minutes=20))                                      # 30 minutes since the call
    assert svc.cases.fire_due_timers() == 1
    town_step = inbox(client, town, second["case_no"])
    assert list(town_step) == ["onekey_escalate"] and town_step["onekey_escalate"]["jurisdiction"] == "/macheng/songbu/"
    response = status(client, "one_key_call", second)["response"]
    assert (response["escalated_to"], response["within_window"], response["answered_at"]) == ("town", False, None)
    # Late, the grid worker of 第二网格 arrives and registers: the town's supervision is withdrawn.
    clock.advance(timedelta(minutes=5))
    grid2 = login("grid2")
    late = complete(client, grid2, inbox(client, grid2, second["case_no"])["register_onekey"],
                    example("intake_register", channel="one_key_call"))
    assert inbox(client, town, second["case_no"]) == {} and late["data"]["onekey_answered_role"] == "grid_worker"
    assert status(client, "one_key_call", second)["response"]["response_seconds"] == 35 * 60 + 1

    # -- the KPIs: two calls, both answered, one in time (即呼即应率 50%), and the drill-down agrees
    kpi = one_key(client, director, **MARCH)
    assert kpi == {"one_key_calls": 2, "one_key_answered": 2, "one_key_in_time": 1, "one_key_rate": 0.5,
                   "one_key_response_seconds": (240 + 2101) / 2}
    assert drilled(client, director, "one_key_calls", **MARCH) == (2, {answered["id"], late["id"]})
    assert drilled(client, director, "one_key_rate", **MARCH) == (1, {answered["id"]})
    assert drilled(client, director, "one_key_response_seconds", **MARCH) == (2, {answered["id"], late["id"]})
    # 龟山镇 sees none of 宋埠镇's calls.
    assert one_key(client, login("director_gs"), **MARCH)["one_key_calls"] == 0


def test_a_110_lead_that_is_no_police_matter_goes_to_the_grid_and_the_town_police_see_it(client, svc, library,
                                                                                          login):
    pushed = push(client, svc, "police_110", "110-20260302-0099", where={"address": "杨家湾村3组",
                                                                          "unit_code": "songbu-yangjiawan"})
    grid, police, city = login("grid"), login("police"), login("city")
    assert pushed["steps"] == ["网格入户核查"]
    verify = inbox(client, grid, pushed["case_no"])["verify"]
    assert verify["jurisdiction"] == G1                                       # the grid of 杨家湾村3组
    assert inbox(client, city, pushed["case_no"]) == {}                       # no city screening
    lead = case(client, police, verify["case_id"])                            # the town's police see it …
    assert lead["case_no"] == pushed["case_no"]
    listed = client.get("/api/v1/cases", headers=police, query_string={"process_key": "lead_clue"}).get_json()
    assert pushed["case_no"] in {item["case_no"] for item in listed["items"]}
    response = client.post(f"/api/v1/tasks/{verify['id']}/complete", headers=police,
                           json={"data": example("lead_verify")})
    assert response.status_code in (403, 404) and response.mimetype == "application/problem+json"  # … read-only
    assert client.get(f"/api/v1/cases/{verify['case_id']}", headers=login("police_gs")).status_code == 404

    # The grid worker finds something the police must follow: it goes to the police liaison.
    complete(client, grid, verify, example("lead_verify", lead_result="monitor", police_relevant=True,
                                           police_note="一方扬言报复，需民警上门训诫"))
    followup = inbox(client, police, pushed["case_no"])["police_followup"]
    assert followup["jurisdiction"] == "/macheng/songbu/"
    complete(client, police, followup, example("lead_police_followup"))
    # The grid answers 110 itself; the city centre never acted on the lead.
    done = complete(client, grid, inbox(client, grid, pushed["case_no"])["feedback_grid"], example("lead_feedback"))
    assert done["data"]["lead_result"] == "monitor"
    history = case(client, city, done["id"])["tasks"]
    assert not [t for t in history if t["role"] in ("city_officer", "city_director")]


def test_a_police_relevant_visit_finding_goes_to_the_town_police_liaison(client, svc, library, login, clock):
    grid, police = login("grid"), login("police")
    now = clock.now()
    visit = client.post("/api/v1/census/visits", headers=grid, json={
        "grid": "songbu-yangjiawan-g1", "started_at": (now - timedelta(hours=1)).isoformat(),
        "ended_at": now.isoformat(), "location": "杨家湾村3组李家", "findings": "李某酒后持刀扬言报复邻居",
        "police_relevant": True})
    assert visit.status_code == 201, visit.get_json()
    lead_no = visit.get_json()["police_lead"]
    followup = inbox(client, police, lead_no)["police_followup"]              # straight to the police liaison
    assert followup["jurisdiction"] == "/macheng/songbu/"
    assert inbox(client, login("city"), lead_no) == {} and inbox(client, grid, lead_no) == {}
    done = complete(client, police, followup, example("lead_police_followup"))
    assert done["status"] == "completed" and done["data"]["source"] == "grid_visit"
    assert inbox(client, login("police_gs"), lead_no) == {}
    plain = client.post("/api/v1/census/visits", headers=grid, json={
        "grid": "songbu-yangjiawan-g1", "started_at": (now - timedelta(hours=2)).isoformat(),
        "ended_at": (now - timedelta(hours=1)).isoformat(), "location": "杨家湾村3组", "findings": "无异常"})
    assert plain.status_code == 201 and plain.get_json()["police_lead"] is None
