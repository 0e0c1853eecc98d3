"""The case list's API: filters (area, category, risk, channel, overdue, dates, words), the fields a
list row shows, and the read-only org units for the area pickers — all scoped to the caller's area."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from api.core.services import services
from engine.models import CaseTask

from .test_api import upload

YANGJIAWAN = "/macheng/songbu/songbu-yangjiawan/"
XINDIAN = "/macheng/songbu/songbu-xindian/"
GUIFENG = "/macheng/guishan/guishan-guifeng/"


def start(client, headers, jurisdiction, title, **data):
    response = client.post("/api/v1/cases", headers=headers, json={
        "process_key": "t_simple", "title": title, "jurisdiction": jurisdiction, "data": data})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def guishan_user(client, login, username="gs_officer"):
    """A town officer of 龟山镇 (the demo has none), made through the admin API."""
    made = client.post("/api/v1/admin/users", headers=login("admin"), json={
        "username": username, "display_name": "龟山镇专员", "unit_code": "guishan", "roles": ["town_officer"],
        "password": "Guishan-2026x", "must_change_password": False})
    assert made.status_code == 201, made.get_json()
    answer = client.post("/api/v1/auth/token", json={"username": username, "password": "Guishan-2026x"})
    return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}


def ids(answer) -> list[int]:
    assert answer.status_code == 200, answer.get_json()
    return [item["id"] for item in answer.get_json()["items"]]


def test_filters_and_list_fields(client, login, clock):
    upload(client, login("designer"), "t_simple.bpmn", "t_register.schema.json")
    town = login("town")
    a = start(client, town, YANGJIAWAN + "songbu-yangjiawan-g1/", "排水沟纠纷", category="邻里", risk_level="yellow",
              channel="walk_in", parties=[{"name": "张三", "phone": "13812345678"}])
    clock.advance(timedelta(hours=3))
    b = start(client, town, XINDIAN, "赡养纠纷", category="婚姻家庭", risk_level="red", channel="lead",
              source="hotline_12345")
    c = start(client, login("city"), GUIFENG, "龟峰村土地纠纷", category="邻里", risk_level="yellow")

    assert ids(client.get("/api/v1/cases", headers=town)) == [b["id"], a["id"]]
    assert ids(client.get(f"/api/v1/cases?area={YANGJIAWAN}", headers=town)) == [a["id"]]
    assert ids(client.get(f"/api/v1/cases?area={XINDIAN}&category=婚姻家庭", headers=town)) == [b["id"]]
    assert ids(client.get(f"/api/v1/cases?area={XINDIAN}&category=邻里", headers=town)) == []
    assert ids(client.get("/api/v1/cases?risk_level=red", headers=town)) == [b["id"]]
    assert ids(client.get("/api/v1/cases?channel=hotline_12345", headers=town)) == [b["id"]]  # a lead's source
    assert ids(client.get("/api/v1/cases?channel=walk_in", headers=town)) == [a["id"]]
    assert ids(client.get("/api/v1/cases?q=排水", headers=town)) == [a["id"]]
    assert ids(client.get(f"/api/v1/cases?q={b['case_no'][-4:]}", headers=town)) == [b["id"]]
    cut = (clock.now() - timedelta(hours=1)).isoformat()
    assert ids(client.get("/api/v1/cases", headers=town, query_string={"created_from": cut})) == [b["id"]]
    assert ids(client.get("/api/v1/cases", headers=town, query_string={"created_to": cut})) == [a["id"]]
    assert ids(client.get("/api/v1/cases?category=邻里", headers=login("city"))) == [c["id"], a["id"]]
    assert ids(client.get("/api/v1/cases?page_size=1&page=2", headers=town)) == [a["id"]]

    row = client.get("/api/v1/cases?area=" + YANGJIAWAN, headers=town).get_json()["items"][0]
    assert row["fields"] == {"category": "邻里", "risk_level": "yellow", "channel": "walk_in"}
    assert row["channel"] == "walk_in" and row["overdue"] is True  # its 2-hour task is 3 hours old
    assert [(u["kind"], u["name"]) for u in row["area"]] == [
        ("town", "宋埠镇"), ("village", "杨家湾村"), ("grid", "杨家湾村第一网格")]
    assert "data" not in row and row["tasks"] and row["tasks"][0]["element_id"]
    lead_row = client.get(f"/api/v1/cases?area={XINDIAN}", headers=town).get_json()["items"][0]
    assert lead_row["channel"] == "hotline_12345"

    detail = client.get(f"/api/v1/cases/{a['id']}", headers=town).get_json()
    assert [u["name"] for u in detail["area"]] == ["宋埠镇", "杨家湾村", "杨家湾村第一网格"]
    assert detail["data"]["parties"][0]["phone"] == "138****5678"


def test_overdue_filter(client, login, clock):
    upload(client, login("designer"), "t_simple.bpmn", "t_register.schema.json")
    grid = login("grid")
    case = start(client, grid, YANGJIAWAN + "songbu-yangjiawan-g1/", "超期测试")
    assert case["tasks"][0]["due_at"]  # t_simple's first task is due in 2 hours
    assert ids(client.get("/api/v1/cases?overdue=true", headers=grid)) == []
    clock.advance(timedelta(hours=3))
    assert ids(client.get("/api/v1/cases?overdue=true", headers=grid)) == [case["id"]]
    assert client.get("/api/v1/cases", headers=grid).get_json()["items"][0]["overdue"] is True


def test_led_filter_lists_the_cases_with_a_step_in_the_leaders_lane(app, client, login):
    """包案: a case that has (had) a task of the ``leader`` role; the task row is written directly, as
    no bundled test process has that lane."""
    upload(client, login("designer"), "t_simple.bpmn", "t_register.schema.json")
    grid = login("grid")
    led = start(client, grid, YANGJIAWAN + "songbu-yangjiawan-g1/", "包案纠纷")
    start(client, grid, YANGJIAWAN + "songbu-yangjiawan-g1/", "普通纠纷")
    with app.app_context(), services().db.write() as session, session.begin():
        session.execute(update(CaseTask).where(CaseTask.case_id == led["id"]).values(role="leader"))
    assert ids(client.get("/api/v1/cases?led=true", headers=grid)) == [led["id"]]
    assert ids(client.get("/api/v1/cases?led=true&overdue=true", headers=grid)) == []


def test_another_towns_user_sees_none_of_it(client, login):
    upload(client, login("designer"), "t_simple.bpmn", "t_register.schema.json")
    case = start(client, login("town"), XINDIAN, "新店村纠纷", category="邻里")
    other = guishan_user(client, login)
    assert ids(client.get("/api/v1/cases", headers=other)) == []
    assert ids(client.get(f"/api/v1/cases?area={XINDIAN}", headers=other)) == []
    assert client.get(f"/api/v1/cases/{case['id']}", headers=other).status_code == 404
    units = client.get("/api/v1/org/units", headers=other).get_json()
    assert units and all(u["path"].startswith("/macheng/guishan/") for u in units)
    assert not any("songbu" in u["path"] for u in units)


def test_the_city_lists_every_case_until_one_lies_outside_its_area(client, login, app):
    """The city's staff read their list without a scope condition while every case lies in the
    city (api/core/scope.py ``scoped_many``); a case outside it brings the scope back."""
    upload(client, login("designer"), "t_simple.bpmn", "t_register.schema.json")
    city = login("city")
    inside = start(client, login("town"), XINDIAN, "新店村纠纷", category="邻里")
    listed = client.get("/api/v1/cases?category=邻里", headers=city).get_json()
    assert [item["id"] for item in listed["items"]] == [inside["id"]] and listed["total"] == 1
    with app.app_context():  # a message's payload may name any jurisdiction: here another city's
        outside = services().cases.start("t_simple", {"category": "邻里"}, "someone", "/elsewhere/village/")
        services().cases.start("t_simple", {"category": "邻里"}, "someone", "/machengx/")  # a prefix's neighbour
    listed = client.get("/api/v1/cases?category=邻里", headers=city).get_json()
    assert [item["id"] for item in listed["items"]] == [inside["id"]] and listed["total"] == 1
    assert outside.case.id not in ids(client.get("/api/v1/cases", headers=city))
    assert client.post("/api/v1/cases/search", headers=city, json={}).get_json()["total"] == 1


def test_org_units_are_the_callers_subtree(client, login):
    town = client.get("/api/v1/org/units", headers=login("town"))
    assert town.status_code == 200
    paths = [u["path"] for u in town.get_json()]
    assert paths == sorted(paths) and paths[0] == "/macheng/songbu/"
    assert all(p.startswith("/macheng/songbu/") for p in paths)
    assert {u["kind"] for u in town.get_json()} == {"town", "village", "grid", "department"}
    villages = client.get("/api/v1/org/units?kind=village", headers=login("town")).get_json()
    assert {u["name"] for u in villages} == {"杨家湾村", "新店村"}
    grid = client.get("/api/v1/org/units", headers=login("grid")).get_json()
    assert [u["name"] for u in grid] == ["杨家湾村第一网格"]
    city = client.get("/api/v1/org/units?kind=town", headers=login("auditor")).get_json()
    assert {u["name"] for u in city} == {"宋埠镇", "龟山镇"}
    assert client.get("/api/v1/org/units?kind=planet", headers=login("town")).status_code == 422
    assert client.get("/api/v1/org/units").status_code == 401
