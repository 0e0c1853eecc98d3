"""GET /api/v1/tasks/{id}: one task with its form schema, case summary, return targets and the
actions the caller may take — the same answers the action routes then give."""
from __future__ import annotations

import io
import json

import pytest

from .conftest import FIXTURES

pytestmark = pytest.mark.usefixtures("verify_all_cases")


@pytest.fixture
def case(client, login):
    files = [(io.BytesIO((FIXTURES / n).read_bytes()), n) for n in ("t_returnable.bpmn", "t_register.schema.json")]
    assert client.post("/api/v1/definitions", headers=login("designer"), data={"files": files},
                       content_type="multipart/form-data").status_code == 201
    body = {"process_key": "t_returnable", "title": "张某与李某宅基地纠纷",
            "data": {"category": "邻里", "parties": [{"role": "申请人", "name": "张某", "phone": "13800001234"}]}}
    created = client.post("/api/v1/cases", headers=login("grid"), json=body)
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def detail(client, headers, task_id):
    return client.get(f"/api/v1/tasks/{task_id}", headers=headers)


def test_task_detail_has_form_case_and_actions(client, login, case):
    grid = login("grid")
    task_id = case["tasks"][0]["id"]
    answer = detail(client, grid, task_id)
    assert answer.status_code == 200, answer.get_json()
    got = answer.get_json()
    assert (got["id"], got["element_id"], got["case_no"], got["case_title"]) == (
        task_id, "register", case["case_no"], "张某与李某宅基地纠纷")
    form = json.loads((FIXTURES / "t_register.schema.json").read_text(encoding="utf-8"))
    assert got["form"] == {**form, "x-order": ["summary", "amount"]}   # the author's field order survives
    summary = got["case"]
    assert (summary["id"], summary["status"], summary["category"], summary["definition_version"]) == (
        case["id"], "active", "邻里", 1)
    assert summary["parties"] == [{"role": "申请人", "name": "张某", "phone": "138****1234"}]  # masked
    assert got["returnable"] == []                                 # nothing done yet
    assert set(got["actions"]) == {"claim", "complete", "copy"}

    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=grid).status_code == 200
    assert set(detail(client, grid, task_id).get_json()["actions"]) == {"unclaim", "complete", "delegate", "copy"}
    # A supervisor may reassign, urge, unclaim someone else's task; it is not theirs to complete.
    city_view = detail(client, login("city"), task_id).get_json()
    assert set(city_view["actions"]) == {"unclaim", "reassign", "urge", "copy", "assign", "transfer"}  # 指派, 转派
    # whom it may go to: the holders of its role over its area, by the name people know them by
    assert city_view["candidates"] == [{"username": "grid", "display_name": "网格员 李网格"}]
    assert detail(client, grid, task_id).get_json()["candidates"] == []   # no other grid worker there
    # The mediator sees the case (same village) but the task is not for their role.
    assert set(detail(client, login("mediator"), task_id).get_json()["actions"]) == {"copy"}
    assert detail(client, login("auditor"), task_id).get_json()["actions"] == []


def test_actions_match_what_the_routes_allow(client, login, case):
    grid, mediator = login("grid"), login("mediator")
    done = client.post(f"/api/v1/tasks/{case['tasks'][0]['id']}/complete", headers=grid,
                       json={"data": {"summary": "宅基地边界纠纷", "amount": 5000}}).get_json()
    [mediate] = done["tasks"]
    got = detail(client, mediator, mediate["id"]).get_json()
    assert got["returnable"] == [{"element_id": "register", "name": "登记纠纷"}]
    assert set(got["actions"]) == {"claim", "complete", "return", "copy"}
    # The grid worker may not claim, complete or return the mediator's task: the routes agree.
    assert set(detail(client, grid, mediate["id"]).get_json()["actions"]) == {"copy"}
    assert client.post(f"/api/v1/tasks/{mediate['id']}/claim", headers=grid).status_code == 403
    assert client.post(f"/api/v1/tasks/{mediate['id']}/return", headers=grid,
                       json={"to_element": "register", "reason": "x"}).status_code == 403
    returned = client.post(f"/api/v1/tasks/{mediate['id']}/return", headers=mediator,
                           json={"to_element": "register", "reason": "金额有误"})
    assert returned.status_code == 200
    gone = detail(client, mediator, mediate["id"]).get_json()
    assert gone["state"] != "ready" and gone["actions"] == [] and gone["returnable"] == []


def test_task_detail_is_scoped(client, login, case):
    task_id = case["tasks"][0]["id"]
    assert detail(client, login("dept"), task_id).status_code == 404   # another unit's area
    assert detail(client, login("grid"), "00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.get(f"/api/v1/tasks/{task_id}").status_code == 401


def test_counts_answer_every_inbox_view_at_once(client, login, case):
    grid = login("grid")
    counts = client.get("/api/v1/tasks/counts", headers=grid).get_json()
    for view, count in counts.items():
        listed = client.get("/api/v1/tasks", headers=grid, query_string={"view": view, "limit": 500}).get_json()
        assert count == len(listed), view
    assert counts["todo"] >= 1
