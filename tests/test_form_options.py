"""Forms fed by the organisation and decisions that show their facts (issue 12, parts 3 and 4):
choices come from the org tree, the users and the category catalogue, resolved per task by GET
/api/v1/tasks/{id} and enforced on completion; approval and sign-for steps show what they decide."""
from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from api.core.formvocab import fields, form_problems
from engine.clock import parse_instant

from .process_support import FORMS, do, example, ready

pytestmark = pytest.mark.usefixtures("verify_all_cases")

SONGBU, GUISHAN = "/macheng/songbu/", "/macheng/guishan/"
YANGJIAWAN = "/macheng/songbu/songbu-yangjiawan/"
MINZHENG, SFS = "/macheng/minzheng/", "/macheng/songbu/songbu-sifasuo/"
GUISHAN_UNITS = ("/macheng/guishan/", "龟山")


def _forms():
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(FORMS.glob("*.schema.json"))}


def test_no_form_lists_the_organisation_and_every_form_speaks_the_vocabulary():
    org_words = ("/macheng", "宋埠", "龟山", "杨家湾", "新店", "龟峰", "民政", "人社", "司法所", "派出所", "妇联", "信访局")
    for name, form in _forms().items():
        assert form_problems(form) == [], name
        for path, field in fields(form):
            choices = [str(v) for v in field.get("enum", [])] + [str(o.get("const")) for o in field.get("oneOf", [])
                                                                  if isinstance(o, dict)]
            listed = [c for c in choices if any(word in c for word in org_words)]
            assert not listed, f"{name} {path} lists the organisation: {listed}"
            if path.split(".")[-1] == "category":
                assert field.get("x-options") == {"source": "categories"}, (name, path)


def test_a_form_naming_an_unknown_source_is_a_modelling_error(client, login):
    form = json.loads((FORMS / "whistle_reselect.schema.json").read_text(encoding="utf-8"))
    form["properties"]["lead_dept"]["x-options"] = {"source": "bureaus"}
    form["x-facts"].append({"title": "x", "from": "a b"})
    form["properties"]["old_style"] = {"type": "string", "enum": ["/macheng/minzheng/", "/macheng/renshe/"]}
    files = [(io.BytesIO(json.dumps(form).encode()), "whistle_reselect.schema.json")]
    answer = client.post("/api/v1/definitions", headers=login("designer"), data={"files": files},
                         content_type="multipart/form-data")
    assert answer.status_code == 422, answer.get_json()
    messages = " ".join(e["message"] for e in answer.get_json()["errors"])
    assert "x-options source 'bureaus' is unknown" in messages and "from 'a b'" in messages
    assert "field 'old_style' lists units" in messages


def _task(client, headers, case_id, element_id):
    [task] = [t for t in client.get(f"/api/v1/cases/{case_id}", headers=headers).get_json()["tasks"]
              if t["element_id"] == element_id and t["state"] == "ready"]
    return client.get(f"/api/v1/tasks/{task['id']}", headers=headers).get_json()


def test_a_whistle_offers_the_case_town_and_its_departments_and_each_department_signs_its_own(
        client, login, library, svc, clock):
    town, dept = login("town"), login("dept")
    created = client.post("/api/v1/cases", headers=town, json={
        "process_key": "whistle_dispatch", "title": "低保资格争议", "jurisdiction": YANGJIAWAN, "data": {}})
    assert created.status_code == 201, created.get_json()
    case_id = created.get_json()["id"]

    draft = _task(client, town, case_id, "draft")
    form = draft["form"]["properties"]
    # the town around the village, never another town; the catalogue's categories (债务 included)
    assert draft["options"]["whistle_town"] == [{"value": SONGBU, "title": "宋埠镇"}]
    assert form["whistle_town"]["oneOf"] == [{"const": SONGBU, "title": "宋埠镇"}]
    assert form["whistle_town"]["default"] == SONGBU
    assert "债务" in [o["value"] for o in draft["options"]["category"]]
    order = example("whistle_order", whistle_town=GUISHAN, issue_type="救助帮扶", category="债务",
                    requested_action="核实低保资格并答复")
    refused = client.post(f"/api/v1/tasks/{draft['id']}/complete", headers=town, json={"data": order})
    assert refused.status_code == 422
    assert "不在本任务可选的单位之中" in refused.get_json()["errors"]["whistle_town"]
    for wrong in ([SONGBU], {"path": SONGBU}, 7):   # not a choice at all: 422, never a 500
        odd = client.post(f"/api/v1/tasks/{draft['id']}/complete", headers=town,
                          json={"data": {**order, "whistle_town": wrong}})
        assert odd.status_code == 422 and "whistle_town" in odd.get_json()["errors"]
    order["whistle_town"] = SONGBU
    assert client.post(f"/api/v1/tasks/{draft['id']}/complete", headers=town, json={"data": order}).status_code == 200

    # The director decides on the order itself, shown read-only. (No demo login holds the director's
    # role yet on this branch: the engine takes the approval.)
    approve = _task(client, town, case_id, "approve")
    facts = {f["title"]: f["value"] for f in approve["facts"]}
    assert (facts["属地乡镇"], facts["请求部门做什么"], facts["紧急程度"]) == ("宋埠镇", "核实低保资格并答复", "紧急")
    assert facts["起草人"] == "镇综治中心 张专员"
    do(svc, case_id, "approve", {"approved": True}, actor="town")

    confirm = _task(client, town, case_id, "confirm")
    choices = [o["value"] for o in confirm["options"]["lead_dept"]]
    assert MINZHENG in choices and SFS in choices and SONGBU in choices      # city, town, 属地兜底
    assert not [c for c in choices if c.startswith(GUISHAN)]                  # never the other town's
    assert {f["title"]: f["value"] for f in confirm["facts"]}["建议主办部门（权责清单）"] == "市民政局"
    bad = client.post(f"/api/v1/tasks/{confirm['id']}/complete", headers=town,
                      json={"data": {"co_depts": ["/macheng/guishan/guishan-sifasuo/"]}})
    assert bad.status_code == 422 and "co_depts.0" in bad.get_json()["errors"]
    dispatched_at = clock.now()
    assert client.post(f"/api/v1/tasks/{confirm['id']}/complete", headers=town,
                       json={"data": {"co_depts": [SFS]}}).status_code == 200

    # one 签收应哨 per department, each named for it and due by the urgency (紧急: 2 hours)
    acks = {t.jurisdiction: t for t in ready(svc, case_id) if t.element_id == "ack"}
    assert {unit: t.name for unit, t in acks.items()} == {MINZHENG: "签收应哨 · 市民政局", SFS: "签收应哨 · 宋埠镇司法所"}
    assert all(t.due_at == dispatched_at + timedelta(hours=2) for t in acks.values())
    mine = client.get(f"/api/v1/tasks/{acks[MINZHENG].id}", headers=dept).get_json()
    assert mine["name"] == "签收应哨 · 市民政局"
    assert parse_instant(mine["due_at"]) == dispatched_at + timedelta(hours=2)
    facts = {f["title"]: f["value"] for f in mine["facts"]}
    assert (facts["本部门"], facts["请求部门做什么"], facts["主办部门"]) == ("市民政局", "核实低保资格并答复", "市民政局")
    assert facts["召集的部门"] == "市民政局、宋埠镇司法所" and facts["应哨时限"] != "—"
    assert mine["form"]["properties"]["liaison_name"]["default"]               # the signed-in liaison
    signed = client.post(f"/api/v1/tasks/{mine['id']}/complete", headers=dept,
                         json={"data": {"ack_decision": "应哨", "liaison_name": mine["form"]["properties"]
                                        ["liaison_name"]["default"]}})
    assert signed.status_code == 200, signed.get_json()
    events = client.get(f"/api/v1/cases/{case_id}/events", headers=town).get_json()["items"]
    done = [(e["actor"], e["payload"]["task"]["element_id"]) for e in events if e["type"] == "task_completed"]
    assert done == [("town", "draft"), ("town", "approve"), ("town", "confirm"), ("dept", "ack")]

def test_the_lead_screen_offers_the_villages_of_the_screeners_jurisdiction(client, login, library, svc):
    city = login("city")
    created = client.post("/api/v1/cases", headers=city, json={
        "process_key": "lead_clue", "title": "12345 线索", "jurisdiction": YANGJIAWAN,
        "data": {"lead_summary": "杨家湾村两户因排水沟争吵", "source": "hotline_12345", "hotline_type": "general"}})
    assert created.status_code == 201, created.get_json()
    screen = _task(client, city, created.get_json()["id"], "screen")
    villages = [o["value"] for o in screen["options"]["handler_unit"]]
    assert YANGJIAWAN in villages and any(v.startswith(GUISHAN) for v in villages)   # the city's: all towns
    assert screen["form"]["properties"]["handler_unit"]["default"] == YANGJIAWAN     # the case's village


def test_people_of_a_role_around_the_case_are_offered_and_nobody_else(client, login):
    """A form may name people: the holders of a role in the case's area (value: the username)."""
    form = json.loads((FORMS.parent.parent / "tests" / "fixtures" / "t_register.schema.json").read_text(encoding="utf-8"))
    form["properties"]["mediator"] = {"type": "string", "title": "承办调解员",
                                      "x-options": {"source": "people", "role": "村调解员", "within": "case"}}
    form["properties"]["reported_by"] = {"type": "string", "title": "报告人", "x-default": "current_user"}
    files = [(io.BytesIO((FORMS.parent.parent / "tests" / "fixtures" / "t_returnable.bpmn").read_bytes()), "t_returnable.bpmn"),
             (io.BytesIO(json.dumps(form, ensure_ascii=False).encode()), "t_register.schema.json")]
    assert client.post("/api/v1/definitions", headers=login("designer"), data={"files": files},
                       content_type="multipart/form-data").status_code == 201
    grid = login("grid")
    created = client.post("/api/v1/cases", headers=grid, json={"process_key": "t_returnable", "title": "排水沟纠纷",
                                                             "data": {}}).get_json()
    task = client.get(f"/api/v1/tasks/{created['tasks'][0]['id']}", headers=grid).get_json()
    assert [o["value"] for o in task["options"]["mediator"]] == ["mediator"]     # the village's, not another's
    assert task["form"]["properties"]["reported_by"]["default"] == "网格员 李网格"
    wrong = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=grid,
                        json={"data": {"summary": "排水沟堵塞", "amount": 0, "mediator": "town"}})
    assert wrong.status_code == 422
    assert wrong.get_json()["errors"] == {"mediator": "“承办调解员”不能选“town”：它不在本任务可选的人员之中"}
    # a deactivated mediator is offered no more, and refused
    admin = login("admin")
    users = client.get("/api/v1/admin/users", headers=admin).get_json()
    [mediator_id] = [u["id"] for u in (users["items"] if isinstance(users, dict) else users) if u["username"] == "mediator"]
    assert client.delete(f"/api/v1/admin/users/{mediator_id}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=grid).get_json()["options"]["mediator"] == []
    gone = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=grid,
                       json={"data": {"summary": "排水沟堵塞", "amount": 0, "mediator": "mediator"}})
    assert gone.status_code == 422 and "mediator" in gone.get_json()["errors"]
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=grid,
                       json={"data": {"summary": "排水沟堵塞", "amount": 0}})
    assert done.status_code == 200, done.get_json()


def _complete(client, headers, case_id, element_id, data):
    task = _task(client, headers, case_id, element_id)
    answer = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers, json={"data": data})
    assert answer.status_code == 200, (element_id, answer.get_json())


def test_risk_and_routing_decisions_show_what_the_rules_computed(client, login, library):
    grid, town = login("grid"), login("town")
    data = example("intake_register")
    case_id = client.post("/api/v1/cases", headers=grid, json={"process_key": "dispute_intake", "data": data,
                                                               "title": data["title"]}).get_json()["id"]
    _complete(client, grid, case_id, "register", data)
    _complete(client, grid, case_id, "notice", example("intake_notice"))
    _complete(client, grid, case_id, "classify", example("intake_classify", category="邻里", risk_flags=["家暴"]))
    risk = _task(client, town, case_id, "risk_confirm")
    facts = {f["title"]: f["value"] for f in risk["facts"]}
    assert facts["规则计算的风险等级"] in ("红色", "橙色", "黄色", "绿色") and facts["判定依据"] != "—"
    assert (facts["纠纷类型"], facts["风险标记"]) == ("邻里", "家暴")


def test_every_bundled_form_example_is_answered_from_the_option_sources(app, library):
    """Each form's own example only names units, departments and categories the sources offer
    for a case in 杨家湾村 seen by the city's officer."""
    from api.cases import formview
    from api.core.categories import current
    from engine.models import Case

    with app.test_request_context(), app.extensions["cunliao"].db.read() as session:
        ctx = formview.Context(session, "city", "市综治中心 专员", "/macheng/", Case(jurisdiction=YANGJIAWAN, data={}),
                               current(), app.extensions["cunliao"].clock.now())
        for name, form in _forms().items():
            for sample in form.get("examples", []):
                assert formview.option_errors(form, sample, ctx) == {}, name
            resolved, offered = formview.resolved_form(form, ctx)
            assert all(offered.values()), (name, offered)          # no source comes back empty here
