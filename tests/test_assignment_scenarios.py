"""Who does the work, through HTTP with the seeded demo logins only (no account made here, no admin
reassigning to get through): each scenario asserts which login did which step."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from api.intake import service as intake
from engine.models import CaseEvent

from .process_support import example
from .test_process_mediation import library  # noqa: F401 - the bundled processes, deployed

pytestmark = pytest.mark.usefixtures("verify_all_cases")

CITY, TOWN = "/macheng/", "/macheng/songbu/"
VILLAGE = "/macheng/songbu/songbu-yangjiawan/"
GRID = VILLAGE + "songbu-yangjiawan-g1/"
MINZHENG, ZRZY, SFS = "/macheng/minzheng/", "/macheng/ziranziyuan/", "/macheng/songbu/songbu-sifasuo/"


def inbox(client, headers, case_id: int) -> dict[str, dict]:
    """The caller's open tasks of one case, by element id."""
    tasks = client.get("/api/v1/tasks", headers=headers).get_json()
    return {t["element_id"]: t for t in tasks if t["case_id"] == case_id}


def work(client, headers, case_id: int, element_id: str, data: dict | None = None, form: str | None = None) -> dict:
    """Sign for (签收) the task in the caller's inbox and complete it with its form's example."""
    task = inbox(client, headers, case_id).get(element_id)
    assert task, f"{element_id} is not in this login's inbox: {sorted(inbox(client, headers, case_id))}"
    if task["assignee"] is None:
        claimed = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers)
        assert claimed.status_code == 200, claimed.get_json()
    body = {**(example(form or task["form_key"]) if (form or task["form_key"]) else {}), **(data or {})}
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers, json={"data": body})
    assert done.status_code == 200, done.get_json()
    return done.get_json()


def who_did(svc, case_id: int) -> dict[str, str]:
    """element id -> the login that completed it (the last time), from the audit events."""
    with svc.db.read() as session:
        events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                         CaseEvent.type == "task_completed").order_by(CaseEvent.seq))
        return {e.payload["task"]["element_id"]: e.actor for e in events}


def start(client, headers, process_key: str, jurisdiction: str, data: dict | None = None) -> dict:
    answer = client.post("/api/v1/cases", headers=headers, json={
        "process_key": process_key, "jurisdiction": jurisdiction, "data": data or {}})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def test_a_12345_lead_is_checked_by_the_grid_worker_of_the_address(client, login, svc, library):
    key = intake.new_key(svc.db, "hotline_12345", "test", svc.clock.now())
    body = _hotline(where={"address": "杨家湾村3组", "unit_code": "songbu-yangjiawan-g1"})
    pushed = client.post("/api/v1/intake/hotline_12345", headers={"X-Api-Key": key}, json=body)
    assert pushed.status_code == 201, pushed.get_json()
    case_id = _case_id(client, login("city"), pushed.get_json()["case_no"])
    city, grid, grid2 = login("city"), login("grid"), login("grid2")

    work(client, city, case_id, "screen")
    assert "verify" not in inbox(client, grid2, case_id)         # the next grid of the village does not get it
    verify = inbox(client, grid, case_id)["verify"]
    assert (verify["role"], verify["jurisdiction"]) == ("grid_worker", GRID)
    by_person = client.get("/api/v1/stats/kpis?group_by=first_handler", headers=city).get_json()["groups"]
    assert [(g["key"], g["label"], g["leads"]) for g in by_person] == [("city", "市综治中心 刘主任", 1)]
    work(client, grid, case_id, "verify", {"lead_result": "false_alarm"})
    done = who_did(svc, case_id)
    assert (done["screen"], done["verify"]) == ("city", "grid")
    case = client.get(f"/api/v1/cases/{case_id}", headers=grid).get_json()
    assert case["first_handler"] == "city" and case["first_handler_name"] == "市综治中心 刘主任"
    board = client.get("/api/v1/tasks/overdue-board", headers=city).get_json()
    assert board["by_first_handler"] == []                          # nothing overdue yet


def test_a_five_batches_policy_check_is_done_by_a_department_liaison(client, login, svc, library):
    town, dept = login("town"), login("dept")
    case_id = start(client, town, "five_batches", GRID, {"risk_level": "orange"})["id"]
    work(client, town, case_id, "plan", {"paths": ["落实政策", "领导包案"], "policy_dept": MINZHENG})
    assert "b_check" not in inbox(client, login("dept_renshe"), case_id)   # another department
    work(client, dept, case_id, "b_check", {"policy_eligible": True})
    work(client, dept, case_id, "b_implement")
    leader = login("leader")
    work(client, leader, case_id, "a_assign")
    assert inbox(client, leader, case_id)["a_work"]["assignee"] == "leader"   # person.leader: the 包案领导
    work(client, leader, case_id, "a_work")
    work(client, town, case_id, "assess", {"assessment": "已化解"})
    done = who_did(svc, case_id)
    assert {k: done[k] for k in ("plan", "b_check", "b_implement", "a_assign", "a_work", "assess")} == {
        "plan": "town", "b_check": "dept", "b_implement": "dept", "a_assign": "leader", "a_work": "leader",
        "assess": "town"}
    # 我的案件: the leader's (包案领导) and the town officer's (首办负责人)
    for user in ("leader", "town"):
        mine = client.get("/api/v1/cases?mine=true", headers=login(user)).get_json()["items"]
        assert [c["id"] for c in mine] == [case_id], user
    assert client.get("/api/v1/cases?mine=true", headers=login("grid")).get_json()["items"] == []


def test_a_whistle_is_approved_by_the_town_director_and_signed_by_two_named_departments(client, login, svc, library):
    town, director = login("town"), login("director")
    case_id = start(client, town, "whistle_dispatch", TOWN, {"case_ref": "MC-TEST"})["id"]
    work(client, town, case_id, "draft")
    assert "approve" not in inbox(client, town, case_id)
    assert "approve" not in inbox(client, login("director_gs"), case_id)      # the other town's director
    work(client, director, case_id, "approve", {"approved": True})
    work(client, town, case_id, "confirm", {})
    ziran, justice = login("dept_ziran"), login("justice")
    assert inbox(client, ziran, case_id)["ack"]["jurisdiction"] == ZRZY
    assert inbox(client, justice, case_id)["ack"]["jurisdiction"] == SFS
    assert "ack" not in inbox(client, login("dept"), case_id)             # 民政局 was not whistled
    work(client, ziran, case_id, "ack", {"ack_decision": "应哨", "liaison_name": "何联络"})
    work(client, justice, case_id, "ack", {"ack_decision": "应哨", "liaison_name": "蒋专员"})
    with svc.db.read() as session:
        acks = {e.actor for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                                         CaseEvent.type == "task_completed"))
                if e.payload["task"]["element_id"] == "ack"}
    assert acks == {"dept_ziran", "justice"}
    assert (who_did(svc, case_id)["draft"], who_did(svc, case_id)["approve"]) == ("town", "director")
    for user in ("dept_ziran", "justice"):                                # the departments' 我的案件
        assert [c["id"] for c in client.get("/api/v1/cases?mine=true", headers=login(user)).get_json()["items"]] == [
            case_id]


def test_a_town_officer_assigns_a_village_task_to_a_named_grid_worker_and_transfers_a_case_to_the_city(
        client, login, svc, library):
    key = intake.new_key(svc.db, "hotline_12345", "test", svc.clock.now())
    pushed = client.post("/api/v1/intake/hotline_12345", headers={"X-Api-Key": key},
                         json=_hotline(ref="12345-V", where={"address": "杨家湾村", "unit_code": "songbu-yangjiawan"}))
    town, grid, grid2, city = login("town"), login("grid"), login("grid2"), login("city")
    lead = _case_id(client, city, pushed.get_json()["case_no"])
    work(client, city, lead, "screen")
    verify = inbox(client, grid, lead)["verify"]                    # no grid known: the village's grid workers
    assert verify["jurisdiction"] == VILLAGE and "verify" in inbox(client, grid2, lead)
    assigned = client.post(f"/api/v1/tasks/{verify['id']}/assign", headers=town, json={"to": "grid2", "reason": "包片"})
    assert assigned.status_code == 200, assigned.get_json()
    assert "verify" not in inbox(client, grid, lead)
    assert client.post(f"/api/v1/tasks/{verify['id']}/claim", headers=grid).status_code == 404  # now in grid2's grid
    work(client, grid2, lead, "verify", {"lead_result": "false_alarm"})
    assert who_did(svc, lead)["verify"] == "grid2"

    whistle = start(client, town, "whistle_dispatch", TOWN, {"case_ref": "MC-TEST"})["id"]
    draft = inbox(client, town, whistle)["draft"]
    moved = client.post(f"/api/v1/tasks/{draft['id']}/transfer", headers=town,
                        json={"unit": "macheng", "reason": "涉及市直部门，本镇协调不了"})
    assert moved.status_code == 200, moved.get_json()
    assert (moved.get_json()["role"], moved.get_json()["jurisdiction"]) == ("city_officer", CITY)
    assert "draft" not in inbox(client, town, whistle)
    work(client, city, whistle, "draft")
    assert who_did(svc, whistle)["draft"] == "city"
    with svc.db.read() as session:
        kinds = [e.type for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_((lead, whistle))))]
    assert "task_assigned" in kinds and "task_transferred" in kinds


def _hotline(ref: str = "12345-G", where: dict | None = None) -> dict:
    from api.intake.schemas import schema_of
    body = dict(schema_of("hotline_12345")["examples"][0])
    return {**body, "source_ref": ref, "where": where or body["where"]}


def _case_id(client, headers, case_no: str) -> int:
    [item] = client.get(f"/api/v1/cases?case_no={case_no}", headers=headers).get_json()["items"]
    return item["id"]
