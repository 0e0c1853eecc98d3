"""The HTTP contract through Flask's test client: auth, definitions, cases, tasks, messages, errors."""
from __future__ import annotations

import io

import pytest

from .conftest import FIXTURES

PROBLEM = "application/problem+json"


def upload(client, headers, *names, content=None):
    files = [(io.BytesIO(content if content is not None else (FIXTURES / n).read_bytes()), n) for n in names]
    return client.post("/api/v1/definitions", headers=headers, data={"files": files},
                       content_type="multipart/form-data")


@pytest.fixture
def designer(login):
    return login("designer")


@pytest.fixture
def deployed(client, designer):
    response = upload(client, designer, "t_simple.bpmn", "t_register.schema.json", "t_message.bpmn")
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_token_and_bearer_required(client, login):
    assert client.get("/api/v1/cases").status_code == 401
    response = client.get("/api/v1/cases", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401 and response.mimetype == PROBLEM
    assert response.get_json()["message"] == "登录已失效，请重新登录"
    bad = client.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong"})
    assert bad.status_code == 401 and bad.mimetype == PROBLEM
    unknown = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "wrong"})
    assert unknown.get_json()["detail"] == bad.get_json()["detail"]
    good = client.post("/api/v1/auth/token", json={"username": "admin", "password": "test-password"})
    body = good.get_json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0 and len(body["access_token"]) > 30
    assert client.get("/api/v1/cases", headers=login("admin")).status_code == 200


def test_token_expires(client, login, clock):
    headers = login("admin")
    clock.advance(hours=9)
    assert client.get("/api/v1/cases", headers=headers).status_code == 401


def test_token_request_validation_is_a_problem_listing_fields(client):
    response = client.post("/api/v1/auth/token", json={"username": ""})
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert set(response.get_json()["errors"]) == {"username", "password"}
    response = client.post("/api/v1/auth/token", data="not json", content_type="application/json")
    assert response.status_code in (400, 422) and response.mimetype == PROBLEM


def test_deploy_is_versioned_and_idempotent(client, designer, deployed):
    assert {(d["key"], d["version"], d["created"]) for d in deployed["deployed"]} == {
        ("t_simple", 1, True), ("t_message", 1, True)}
    again = upload(client, designer, "t_simple.bpmn", "t_register.schema.json").get_json()
    assert again["deployed"] == [{"key": "t_simple", "version": 1, "created": False}]
    changed = (FIXTURES / "t_simple.bpmn").read_bytes().replace("村级调解".encode(), "村级调解（新）".encode())
    response = upload(client, designer, "t_simple.bpmn", content=changed)
    assert response.get_json()["deployed"] == [{"key": "t_simple", "version": 2, "created": True}]
    listing = client.get("/api/v1/definitions", headers=designer).get_json()
    assert {(d["key"], d["version"]) for d in listing} == {("t_simple", 2), ("t_message", 1)}
    v1 = client.get("/api/v1/definitions/t_simple/versions/1", headers=designer).get_json()
    assert "村级调解（新）" not in v1["xml"] and v1["sha256"]
    assert client.get("/api/v1/definitions/t_simple/versions/9", headers=designer).status_code == 404


def test_deploy_needs_designer_and_files(client, login, designer):
    assert upload(client, login("mediator"), "t_simple.bpmn").status_code == 403
    response = client.post("/api/v1/definitions", headers=designer, data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and response.mimetype == PROBLEM


def test_cases_stay_on_their_version(client, login, designer, deployed):
    grid = login("grid")
    old = client.post("/api/v1/cases", headers=grid, json={"process_key": "t_simple"}).get_json()
    changed = (FIXTURES / "t_simple.bpmn").read_bytes().replace("村级调解".encode(), "镇级调解".encode())
    upload(client, designer, "t_simple.bpmn", content=changed)
    new = client.post("/api/v1/cases", headers=grid, json={"process_key": "t_simple"}).get_json()
    assert (old["definition_version"], new["definition_version"]) == (1, 2)
    for case in (old, new):
        done = client.post(f"/api/v1/tasks/{case['tasks'][0]['id']}/complete", headers=grid,
                           json={"data": {"summary": "邻里纠纷", "amount": 5000}}).get_json()
        assert done["tasks"][0]["name"] == ("村级调解" if case is old else "镇级调解")


def test_case_lifecycle_over_http(client, login, deployed):
    grid, mediator = login("grid"), login("mediator")
    response = client.post("/api/v1/cases", headers=grid,
                           json={"process_key": "t_simple", "data": {"reporter": "张三"}, "title": "宅基地纠纷"})
    assert response.status_code == 201
    case = response.get_json()
    assert case["case_no"].startswith("MC-") and case["status"] == "active" and case["version"] == 1
    assert case["jurisdiction"] == "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/"
    [task] = case["tasks"]
    assert task["role"] == "grid_worker" and task["due_at"]

    assert [t["id"] for t in client.get("/api/v1/tasks", headers=grid).get_json()] == [task["id"]]
    assert client.get("/api/v1/tasks", headers=mediator).get_json() == []

    forbidden = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=mediator, json={"data": {}})
    assert forbidden.status_code == 403 and forbidden.mimetype == PROBLEM

    invalid = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=grid,
                          json={"data": {"summary": "x", "amount": "many"}})
    assert invalid.status_code == 422 and set(invalid.get_json()["errors"]) == {"summary", "amount"}

    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=grid,
                       json={"data": {"summary": "宅基地边界纠纷", "amount": 3000}})
    assert done.status_code == 200
    body = done.get_json()
    assert body["version"] == 2 and body["data"]["risk"] == "high"
    again = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=grid, json={"data": {}})
    assert again.status_code == 409 and again.mimetype == PROBLEM

    [next_task] = client.get("/api/v1/tasks", headers=mediator).get_json()
    assert next_task["name"] == "村级调解" and next_task["case_no"] == case["case_no"]
    assert client.get(f"/api/v1/cases/{case['id']}", headers=mediator).get_json()["status"] == "active"
    listing = client.get("/api/v1/cases?status=active", headers=login("town")).get_json()
    assert listing["total"] == 1 and listing["items"][0]["case_no"] == case["case_no"]
    assert client.post("/api/v1/tasks/nonexistent/complete", headers=grid, json={"data": {}}).status_code == 404


def test_reads_are_scoped_to_jurisdiction(client, login, deployed):
    grid = login("grid")
    case = client.post("/api/v1/cases", headers=grid, json={"process_key": "t_simple"}).get_json()
    other_town = login("dept")  # a city department outside the town's subtree
    assert client.get(f"/api/v1/cases/{case['id']}", headers=other_town).status_code == 404
    assert client.get("/api/v1/cases", headers=other_town).get_json()["total"] == 0
    assert client.get(f"/api/v1/cases/{case['id']}", headers=login("city")).status_code == 200
    outside = client.post("/api/v1/cases", headers=grid,
                          json={"process_key": "t_simple", "jurisdiction": "/macheng/guishan/"})
    assert outside.status_code == 403


def test_start_errors(client, login, deployed):
    grid = login("grid")
    missing = client.post("/api/v1/cases", headers=grid, json={"data": {}})
    assert missing.status_code == 422 and "process_key" in missing.get_json()["errors"]
    unknown = client.post("/api/v1/cases", headers=grid, json={"process_key": "nope"})
    assert unknown.status_code == 404 and unknown.mimetype == PROBLEM
    wrong_type = client.post("/api/v1/cases", headers=grid, json={"process_key": "t_simple", "data": [1, 2]})
    assert wrong_type.status_code == 422
    assert client.post("/api/v1/cases", headers=login("auditor"), json={"process_key": "t_simple"}).status_code == 403


def test_messages_over_http(client, login, deployed):
    town = login("town")
    case = client.post("/api/v1/cases", headers=town, json={"process_key": "t_message"}).get_json()
    assert case["status"] == "waiting"
    message = {"name": "outcome_submitted", "correlation": {"case_no": case["case_no"]},
               "payload": {"feedback": "已到场处置"}, "idempotency_key": "dept-42"}
    first = client.post("/api/v1/messages", headers=town, json=message)
    assert first.status_code == 200
    [delivered] = first.get_json()["delivered_to"]
    assert delivered["status"] == "active" and delivered["tasks"][0]["name"] == "审核反馈"
    repeat = client.post("/api/v1/messages", headers=town, json=message).get_json()
    assert repeat["delivered_to"][0]["version"] == delivered["version"]
    nobody = client.post("/api/v1/messages", headers=town, json={**message, "idempotency_key": "x"})
    assert nobody.status_code == 404
    no_key = client.post("/api/v1/messages", headers=town, json={"name": "outcome_submitted"})
    assert no_key.status_code == 422 and "idempotency_key" in no_key.get_json()["errors"]


def test_case_status_actions(client, login, deployed):
    grid, city = login("grid"), login("city")
    case = client.post("/api/v1/cases", headers=grid, json={"process_key": "t_simple"}).get_json()
    assert client.post(f"/api/v1/cases/{case['id']}/suspend", headers=grid, json={"reason": "x"}).status_code == 403
    assert client.post(f"/api/v1/cases/{case['id']}/suspend", headers=city, json={}).status_code == 422
    suspended = client.post(f"/api/v1/cases/{case['id']}/suspend", headers=city, json={"reason": "等待鉴定"})
    assert suspended.get_json()["status"] == "suspended"
    blocked = client.post(f"/api/v1/tasks/{case['tasks'][0]['id']}/complete", headers=grid,
                          json={"data": {"summary": "邻里纠纷", "amount": 1}})
    assert blocked.status_code == 409
    resumed = client.post(f"/api/v1/cases/{case['id']}/resume", headers=city, json={"reason": "鉴定完成"})
    assert resumed.get_json()["status"] == "active"
    cancelled = client.post(f"/api/v1/cases/{case['id']}/cancel", headers=city, json={"reason": "重复登记"})
    assert cancelled.get_json()["status"] == "cancelled"


def test_openapi_and_local_docs(client):
    spec = client.get("/api/openapi.json").get_json()
    assert {"/api/v1/cases", "/api/v1/tasks", "/api/v1/messages", "/api/v1/definitions",
            "/api/v1/auth/token"} <= set(spec["paths"])
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/docs/assets/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    assert client.get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_healthz_reports_database_and_worker(client, svc):
    body = client.get("/healthz").get_json()
    assert body["database"]["status"] == "ok" and body["worker"]["status"] == "absent"
    from engine.worker import TimerWorker

    TimerWorker(svc.cases, worker_id="w1").run_once()
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["worker"]["status"] == "ok"


def test_unknown_route_and_method_are_problems(client):
    response = client.get("/api/v1/nope")
    assert response.status_code in (401, 404) and response.mimetype == PROBLEM
    response = client.delete("/api/v1/auth/token")
    assert response.status_code == 405 and response.mimetype == PROBLEM


def test_a_department_sees_and_completes_what_was_sent_to_it(client, login, designer):
    assert upload(client, designer, "t_departments.bpmn").status_code == 201
    town, dept = login("town"), login("dept")
    case = client.post("/api/v1/cases", headers=town, json={
        "process_key": "t_departments", "data": {"departments": ["/macheng/minzheng/", "/macheng/fulian/"]}}).get_json()
    [mine] = client.get("/api/v1/tasks", headers=dept).get_json()
    assert mine["jurisdiction"] == "/macheng/minzheng/"
    assert client.get(f"/api/v1/cases/{case['id']}", headers=dept).status_code == 200
    assert client.get("/api/v1/cases", headers=dept).get_json()["total"] == 1
    done = client.post(f"/api/v1/tasks/{mine['id']}/complete", headers=dept, json={"data": {"ok": True}})
    assert done.status_code == 200
    other = [t for t in case["tasks"] if t["id"] != mine["id"]][0]
    assert client.post(f"/api/v1/tasks/{other['id']}/complete", headers=dept, json={"data": {}}).status_code == 404


def test_audit_endpoints(client, login, deployed):
    grid, auditor, admin = login("grid"), login("auditor"), login("admin")
    case = client.post("/api/v1/cases", headers=grid, json={"process_key": "t_simple"}).get_json()
    client.post(f"/api/v1/tasks/{case['tasks'][0]['id']}/complete", headers=grid,
                json={"data": {"summary": "宅基地边界纠纷", "amount": 5000}})
    events = client.get(f"/api/v1/cases/{case['id']}/events", headers=auditor).get_json()
    assert [e["type"] for e in events["items"]] == ["case_started", "task_completed"] and events["total"] == 2
    assert all(len(e["hash"]) == 64 for e in events["items"])
    first = client.get(f"/api/v1/cases/{case['id']}/history?at=1", headers=auditor).get_json()
    assert [t["element_id"] for t in first["open_tasks"]] == ["register"] and first["path"] == ["start"]
    second = client.get(f"/api/v1/cases/{case['id']}/history?at=2", headers=auditor).get_json()
    assert second["path"] == ["start", "register", "grade", "gw"] and second["data"]["risk"] == "high"
    assert [a["actor"] for a in second["actions"]] == ["grid", "grid"]
    verdict = client.post(f"/api/v1/cases/{case['id']}/verify", headers=auditor).get_json()
    assert verdict["ok"] is True and verdict["events"] == 2
    bundle = client.get(f"/api/v1/cases/{case['id']}/audit-bundle", headers=auditor)
    assert bundle.status_code == 200 and "attachment" in bundle.headers["Content-Disposition"]
    assert bundle.get_json()["case"]["case_no"] == case["case_no"]
    assert client.post(f"/api/v1/cases/{case['id']}/repairs/rewind", headers=auditor,
                       json={"to_seq": 2, "reason": "x"}).status_code == 403
    assert client.post(f"/api/v1/cases/{case['id']}/repairs/rewind", headers=admin,
                       json={"to_seq": 2}).status_code == 422
    rewound = client.post(f"/api/v1/cases/{case['id']}/repairs/rewind", headers=admin,
                          json={"to_seq": 2, "reason": "登记金额有误，退回重新登记"})
    assert rewound.status_code == 200 and rewound.get_json()["tasks"][0]["element_id"] == "register"
    assert client.post(f"/api/v1/cases/{case['id']}/verify", headers=auditor).get_json()["ok"] is True
    assert client.get(f"/api/v1/cases/{case['id']}/events", headers=login("dept")).status_code == 404
