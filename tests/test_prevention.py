"""Prevention work: risk-family screening lists (history, escalation to a case), key-person follow-up
plans (a real BPMN loop: contact tasks in the inbox on the fake clock, ended by closing the plan),
patrol teams and logs (filters, monthly hours); scoping, masking and bad input."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.models import Case, CaseTask, PendingTimer

from .test_census import id_no

PROBLEM = "application/problem+json"
VILLAGE = "songbu-yangjiawan"
G1 = "songbu-yangjiawan-g1"
G1_PATH = "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"
OTHER_VILLAGE = "guishan-guifeng"
OTHER_GRID = "guishan-guifeng-g1"
P = "/api/v1/prevention"
CONTACT = {"method": "电话", "reached": True, "situation": "情绪平稳，在外务工", "risk_trend": "稳定"}

pytestmark = pytest.mark.usefixtures("verify_all_cases")


def ok(response, status: int = 200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == PROBLEM
    return response.get_json()


def person(client, headers, grid=G1, serial=11, name="刘某"):
    return ok(client.post("/api/v1/census/people", headers=headers, json={
        "grid": grid, "name": name, "id_no": id_no(serial), "phone": "13912345678", "address": "杨家湾村4组8号",
        "flags": ["重点人员"]}), 201)


# --- screening lists -------------------------------------------------------------------------

def test_screening_list_entries_history_masking_and_escalation(client, login, library, svc):
    town, grid, mediator = login("town"), login("grid"), login("mediator")
    census = person(client, grid)
    made = ok(client.post(f"{P}/screening-lists", headers=town, json={
        "area": VILLAGE, "title": "2026年3月婚姻家庭风险联合排查", "period": "2026-03",
        "screeners": ["妇联", "派出所", "村调委会"]}), 201)
    assert made["area_path"] == "/macheng/songbu/songbu-yangjiawan/"
    linked = ok(client.post(f"{P}/screening-lists/{made['id']}/entries", headers=mediator, json={
        "person_id": census["id"], "indicators": ["离婚诉讼", "财产纠纷"], "risk_level": "yellow"}), 201)
    assert linked["subject"] == "刘某" and linked["screeners"] == ["妇联", "派出所", "村调委会"]
    assert linked["person"]["id_no"] == census["id_no"] and "*" in linked["person"]["id_no"]
    typed_id = id_no(12)
    free = ok(client.post(f"{P}/screening-lists/{made['id']}/entries", headers=mediator, json={
        "subject": "陈某某户", "id_no": typed_id, "phone": "13800138000", "indicators": ["家暴"],
        "risk_level": "orange", "screeners": ["妇联", "派出所"], "status": "watch"}), 201)
    assert free["id_no"] == typed_id[:4] + "*" * 10 + typed_id[-4:] and free["phone"] == "138****8000"
    assert typed_id not in str(ok(client.get(f"{P}/screening-lists/{made['id']}", headers=town)))

    changed = ok(client.patch(f"{P}/screening-entries/{linked['id']}", headers=mediator,
                              json={"risk_level": "orange", "status": "watch", "note": "双方分居"}))
    assert (changed["risk_level"], changed["status"]) == ("orange", "watch")
    history = ok(client.get(f"{P}/changes?target_type=entry&target_id={linked['id']}", headers=town))
    assert [h["action"] for h in history] == ["update", "create"]
    assert history[0]["before"]["risk_level"] == "yellow" and history[0]["after"]["risk_level"] == "orange"

    escalated = ok(client.post(f"{P}/screening-entries/{free['id']}/escalate", headers=mediator,
                               json={"summary": "夫妻矛盾激化，有家暴苗头"}))
    assert escalated["status"] == "escalated" and escalated["case_id"]
    case = ok(client.get(f"/api/v1/cases/{escalated['case_id']}", headers=mediator))
    assert case["process_key"] == "dispute_intake" and case["jurisdiction"] == made["area_path"]
    assert case["data"]["category"] == "婚姻家庭" and case["data"]["parties"][0]["id_no"] == free["id_no"]
    assert case["tasks"] and case["tasks"][0]["element_id"] == "register"
    problem(client.post(f"{P}/screening-entries/{free['id']}/escalate", headers=mediator, json={}), 409)
    problem(client.patch(f"{P}/screening-entries/{free['id']}", headers=mediator, json={"status": "open"}), 409)

    # Linking an existing case instead of starting one.
    again = ok(client.post(f"{P}/screening-entries/{linked['id']}/escalate", headers=town,
                           json={"case_id": escalated["case_id"]}))
    assert again["case_id"] == escalated["case_id"]
    with svc.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1
    only_orange = ok(client.get(f"{P}/screening-lists/{made['id']}?risk_level=orange", headers=town))
    assert len(only_orange["entries"]) == 2
    assert [r["id"] for r in ok(client.get(f"{P}/screening-lists?area={G1}", headers=town))] == []
    assert [r["id"] for r in ok(client.get(f"{P}/screening-lists?area={VILLAGE}", headers=town))] == [made["id"]]


# --- key-person follow-up --------------------------------------------------------------------

def _inbox(client, login):
    """The grid worker's contact tasks (logging in afresh: the fake clock outruns the token's lifetime)."""
    return [t for t in ok(client.get("/api/v1/tasks", headers=login("grid"))) if t["element_id"] == "contact"]


def test_followup_plan_offers_contact_tasks_on_the_interval_and_ends_when_closed(client, login, library, svc, clock):
    grid, town = login("grid"), login("town")
    census = person(client, grid)
    plan = ok(client.post(f"{P}/followup-plans", headers=town, json={
        "person_id": census["id"], "interval_days": 7, "responsible_unit": "杨家湾村调委会",
        "responsible_user": "grid", "reason": "曾因土地纠纷多次越级上访"}), 201)
    assert plan["status"] == "active" and plan["area_path"] == G1_PATH and "*" in plan["person"]["id_no"]
    problem(client.post(f"{P}/followup-plans", headers=town, json={
        "person_id": census["id"], "interval_days": 7, "reason": "重复"}), 409)

    assert _inbox(client, login) == []
    clock.advance(days=6, hours=23)
    svc.cases.fire_due_timers()
    assert _inbox(client, login) == []
    clock.advance(hours=1, seconds=1)
    assert svc.cases.fire_due_timers() == 1
    [task] = _inbox(client, login)
    grid, town = login("grid"), login("town")
    assert task["name"] == "联系重点人员" and task["case_no"] == plan["case_no"] and task["role"] == "grid_worker"
    assert task["form_key"] == "keyperson_contact" and task["due_at"]  # keyperson_contact in sla.json
    problem(client.post(f"/api/v1/tasks/{task['id']}/complete", headers=grid, json={"data": {"method": "电话"}}), 422)
    ok(client.post(f"/api/v1/tasks/{task['id']}/complete", headers=grid, json={"data": CONTACT}))
    assert _inbox(client, login) == []

    clock.advance(days=7, seconds=1)
    assert svc.cases.fire_due_timers() == 1
    assert len(_inbox(client, login)) == 1
    grid, town = login("grid"), login("town")
    detail = ok(client.get(f"{P}/followup-plans/{plan['id']}", headers=town))
    assert [h["action"] for h in detail["history"]] == ["create", "contact"]
    assert detail["history"][1]["data"]["situation"] == "情绪平稳，在外务工"
    assert detail["history"][1]["actor"] == "grid"

    closed = ok(client.post(f"{P}/followup-plans/{plan['id']}/close", headers=town, json={"reason": "已稳定，解除跟进"}))
    assert closed["status"] == "closed" and closed["closed_by"] == "town"
    assert _inbox(client, login) == []
    with svc.db.read() as session:
        assert session.get(Case, plan["case_id"]).status == "completed"
        assert session.scalar(select(func.count()).select_from(PendingTimer)) == 0
        assert session.scalar(select(func.count()).select_from(CaseTask).where(CaseTask.state == "ready")) == 0
    problem(client.post(f"{P}/followup-plans/{plan['id']}/close", headers=town, json={"reason": "再次关闭"}), 409)
    assert [p["id"] for p in ok(client.get(f"{P}/followup-plans?status=closed", headers=grid))] == [plan["id"]]
    history = ok(client.get(f"{P}/followup-plans/{plan['id']}", headers=town))["history"]
    assert [h["action"] for h in history] == ["create", "contact", "close"]


def test_closing_a_plan_while_waiting_for_the_timer_ends_the_case(client, login, library, svc, clock):
    grid = login("grid")
    plan = ok(client.post(f"{P}/followup-plans", headers=grid, json={
        "person_id": person(client, grid)["id"], "interval_days": 30, "reason": "刑满释放安置帮教"}), 201)
    ok(client.post(f"{P}/followup-plans/{plan['id']}/close", headers=grid, json={"reason": "迁出本网格"}))
    clock.advance(days=31)
    assert svc.cases.fire_due_timers() == 0
    assert _inbox(client, login) == []
    with svc.db.read() as session:
        assert session.get(Case, plan["case_id"]).status == "completed"


# --- patrols ---------------------------------------------------------------------------------

def test_patrol_teams_logs_filters_and_monthly_hours(client, login, svc, clock):
    grid, town, mediator = login("grid"), login("town"), login("mediator")
    village_team = ok(client.post(f"{P}/patrol-teams", headers=mediator, json={
        "area": VILLAGE, "name": "杨家湾村治安巡逻队",
        "members": [{"name": "王调解", "username": "mediator"}, {"name": "村民甲"}]}), 201)
    grid_team = ok(client.post(f"{P}/patrol-teams", headers=grid, json={
        "area": G1, "name": "第一网格夜巡组", "members": [{"name": "李网格", "username": "grid"}]}), 201)
    assert village_team["members"][1] == {"name": "村民甲"}
    # clock: 2026-03-02 09:00 China time
    first = ok(client.post(f"{P}/patrol-logs", headers=mediator, json={
        "team_id": village_team["id"], "started_at": "2026-03-01T19:00:00+08:00", "ended_at": "2026-03-01T22:30:00+08:00",
        "route": "村委会—3组—河堤", "findings": "河堤护栏松动", "issues": [{"description": "护栏松动"}]}), 201)
    assert first["patrol_date"] == "2026-03-01" and first["hours"] == 3.5
    ok(client.post(f"{P}/patrol-logs", headers=mediator, json={
        "team_id": village_team["id"], "started_at": "2026-02-28T20:00:00+08:00", "ended_at": "2026-02-28T21:00:00+08:00",
        "route": "村委会—小学"}), 201)
    ok(client.post(f"{P}/patrol-logs", headers=grid, json={
        "team_id": grid_team["id"], "started_at": "2026-03-02T06:00:00+08:00", "ended_at": "2026-03-02T07:15:00+08:00",
        "route": "第一网格全域"}), 201)

    march = ok(client.get(f"{P}/patrol-logs?date_from=2026-03-01&date_to=2026-03-31", headers=town))
    assert len(march) == 2
    assert len(ok(client.get(f"{P}/patrol-logs?team_id={village_team['id']}", headers=town))) == 2
    assert len(ok(client.get(f"{P}/patrol-logs?area={G1}", headers=town))) == 1
    hours = ok(client.get(f"{P}/patrol-hours?month=2026-03", headers=town))
    assert [(h["team_id"], h["hours"], h["patrols"]) for h in hours] == [
        (village_team["id"], 3.5, 1), (grid_team["id"], 1.25, 1)]
    feb = ok(client.get(f"{P}/patrol-hours?month=2026-02&team_id={village_team['id']}", headers=town))
    assert [(h["hours"], h["patrols"]) for h in feb] == [(1.0, 1)]
    # the grid worker sees only the grid's team
    assert [t["id"] for t in ok(client.get(f"{P}/patrol-teams", headers=grid))] == [grid_team["id"]]


# --- scope, roles, bad input -----------------------------------------------------------------

def test_another_town_gets_404_and_read_only_roles_get_403(client, login, library):
    town, grid = login("town"), login("grid")
    outsider = login("city")  # makes the other town's objects
    other_person = person(client, outsider, grid=OTHER_GRID, serial=21, name="外镇某")
    lst = ok(client.post(f"{P}/screening-lists", headers=outsider, json={"area": OTHER_VILLAGE, "title": "龟峰村排查"}), 201)
    entry = ok(client.post(f"{P}/screening-lists/{lst['id']}/entries", headers=outsider, json={
        "subject": "某户", "indicators": ["分居"], "risk_level": "green"}), 201)
    plan = ok(client.post(f"{P}/followup-plans", headers=outsider, json={
        "person_id": other_person["id"], "interval_days": 10, "reason": "测试"}), 201)
    team = ok(client.post(f"{P}/patrol-teams", headers=outsider, json={
        "area": OTHER_GRID, "name": "龟峰巡逻队", "members": [{"name": "某"}]}), 201)

    for headers in (town, grid):
        problem(client.get(f"{P}/screening-lists/{lst['id']}", headers=headers), 404)
        problem(client.post(f"{P}/screening-lists/{lst['id']}/entries", headers=headers,
                            json={"subject": "x", "indicators": ["y"], "risk_level": "red"}), 404)
        problem(client.patch(f"{P}/screening-entries/{entry['id']}", headers=headers, json={"status": "resolved"}), 404)
        problem(client.post(f"{P}/screening-entries/{entry['id']}/escalate", headers=headers, json={}), 404)
        problem(client.get(f"{P}/followup-plans/{plan['id']}", headers=headers), 404)
        problem(client.post(f"{P}/followup-plans/{plan['id']}/close", headers=headers, json={"reason": "越权"}), 404)
        problem(client.post(f"{P}/screening-lists", headers=headers, json={"area": OTHER_VILLAGE, "title": "x"}), 404)
        problem(client.get(f"{P}/patrol-logs?area={OTHER_GRID}", headers=headers), 404)
        assert ok(client.get(f"{P}/screening-lists", headers=headers)) == []
        assert ok(client.get(f"{P}/followup-plans", headers=headers)) == []
        assert ok(client.get(f"{P}/patrol-teams", headers=headers)) == []
        assert ok(client.get(f"{P}/changes", headers=headers)) == []
        body = problem(client.post(f"{P}/patrol-logs", headers=headers, json={
            "team_id": team["id"], "started_at": "2026-03-01T19:00:00+08:00", "ended_at": "2026-03-01T20:00:00+08:00",
            "route": "x"}), 422)
        assert "team_id" in body["errors"]
        body = problem(client.post(f"{P}/followup-plans", headers=headers, json={
            "person_id": other_person["id"], "interval_days": 7, "reason": "x"}), 422)
        assert "person_id" in body["errors"]
    # someone else's screening entry cannot be escalated into a case of another town either
    mine = ok(client.post(f"{P}/screening-lists", headers=town, json={"area": VILLAGE, "title": "本村"}), 201)
    mine_entry = ok(client.post(f"{P}/screening-lists/{mine['id']}/entries", headers=town, json={
        "subject": "本村某户", "indicators": ["分居"], "risk_level": "green"}), 201)
    body = problem(client.post(f"{P}/screening-entries/{mine_entry['id']}/escalate", headers=town,
                               json={"case_id": plan["case_id"]}), 422)
    assert "case_id" in body["errors"]

    auditor = login("auditor")
    problem(client.post(f"{P}/screening-lists", headers=auditor, json={"area": VILLAGE, "title": "x"}), 403)
    problem(client.post(f"{P}/patrol-teams", headers=auditor, json={}), 403)
    assert len(ok(client.get(f"{P}/screening-lists", headers=auditor))) == 2


def test_bad_input_is_problem_json_listing_the_fields(client, login):
    grid = login("grid")
    body = problem(client.post(f"{P}/screening-lists", headers=grid, json={"screeners": "妇联"}), 422)
    assert {"area", "title", "screeners"} <= set(body["errors"])
    lst = ok(client.post(f"{P}/screening-lists", headers=grid, json={"area": G1, "title": "第一网格排查"}), 201)
    body = problem(client.post(f"{P}/screening-lists/{lst['id']}/entries", headers=grid,
                               json={"risk_level": "purple", "indicators": []}), 422)
    assert {"risk_level", "indicators", "subject"} <= set(body["errors"])
    body = problem(client.post(f"{P}/screening-lists/{lst['id']}/entries", headers=grid, json={
        "subject": "某", "indicators": ["x"], "risk_level": "red", "id_no": "123"}), 422)
    assert "id_no" in body["errors"]
    body = problem(client.post(f"{P}/screening-lists/{lst['id']}/entries", headers=grid, json={
        "person_id": 999999, "indicators": ["x"], "risk_level": "red"}), 422)
    assert "person_id" in body["errors"]
    body = problem(client.post(f"{P}/followup-plans", headers=grid, json={"interval_days": 0}), 422)
    assert {"person_id", "interval_days", "reason"} <= set(body["errors"])
    body = problem(client.post(f"{P}/patrol-logs", headers=grid, json={
        "team_id": 1, "started_at": "2026-03-01T20:00:00+08:00", "ended_at": "2026-03-01T19:00:00+08:00"}), 422)
    assert {"ended_at", "route"} <= set(body["errors"])
    body = problem(client.post(f"{P}/patrol-teams", headers=grid, json={"area": G1, "name": "x", "members": []}), 422)
    assert "members" in body["errors"]
    team = ok(client.post(f"{P}/patrol-teams", headers=grid, json={"area": G1, "name": "x",
                                                                    "members": [{"name": "甲"}]}), 201)
    body = problem(client.post(f"{P}/patrol-logs", headers=grid, json={
        "team_id": team["id"], "started_at": "2026-03-03T20:00:00+08:00", "ended_at": "2026-03-03T21:00:00+08:00",
        "route": "x"}), 422)
    assert "ended_at" in body["errors"]  # in the future on the fake clock
    body = problem(client.post(f"{P}/patrol-logs", headers=grid, json={
        "team_id": team["id"], "started_at": "2026-03-01T20:00:00+08:00", "ended_at": "2026-03-01T21:00:00+08:00",
        "route": "x", "issues": [{"description": "y", "case_id": 999999}]}), 422)
    assert "issues.0.case_id" in body["errors"]
    body = problem(client.get(f"{P}/patrol-hours?month=2026-13", headers=grid), 422)
    assert "month" in body["errors"]


def test_a_plan_lost_to_a_racing_request_leaves_no_case_behind(client, login, library, app, clock, monkeypatch):
    """Two people create a plan for the same person at once: the partial unique index, claimed in the
    case's own transaction, lets one win; the loser answers 409 and its case was never stored."""
    from api.prevention.service import FollowupPlan

    grid = login("grid")
    census = person(client, grid, serial=31, name="赵某")
    services = app.extensions["cunliao"]
    real_start = services.cases.start

    def start_after_the_other_request(*args, **kwargs):
        with services.db.write() as session, session.begin():  # the other request's plan lands first
            session.add(FollowupPlan(person_id=census["id"], area_path=G1_PATH, interval_days=7,
                                     responsible_unit="杨家湾村调委会", reason="另一人同时创建", status="active",
                                     case_id=0, case_no="MC-OTHER", created_by="town", created_at=clock.now()))
        return real_start(*args, **kwargs)

    monkeypatch.setattr(services.cases, "start", start_after_the_other_request)
    problem(client.post(f"{P}/followup-plans", headers=grid, json={
        "person_id": census["id"], "interval_days": 7, "responsible_unit": "杨家湾村调委会", "reason": "重复"}), 409)
    with services.db.read() as session:
        assert session.scalars(select(Case).where(Case.process_key == "key_person_followup")).all() == []
        assert [p.case_no for p in session.scalars(select(FollowupPlan))] == ["MC-OTHER"]
