"""The task inbox and task actions end to end over HTTP, with their conflicts; the case journal;
notifications (in-app and webhook); the overdue board."""
from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from api.core.notify import send_pending

from .conftest import FIXTURES

PROBLEM = "application/problem+json"
pytestmark = pytest.mark.usefixtures("verify_all_cases")


def upload(client, headers, *names):
    files = [(io.BytesIO((FIXTURES / n).read_bytes()), n) for n in names]
    response = client.post("/api/v1/definitions", headers=headers, data={"files": files},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()


@pytest.fixture
def case(client, login):
    upload(client, login("designer"), "t_returnable.bpmn", "t_register.schema.json")
    created = client.post("/api/v1/cases", headers=login("grid"), json={"process_key": "t_returnable"}).get_json()
    return created


def tasks(client, headers, view="todo"):
    return client.get(f"/api/v1/tasks?view={view}", headers=headers).get_json()


def act(client, headers, task_id, action, **body):
    return client.post(f"/api/v1/tasks/{task_id}/{action}", headers=headers, json=body)


def test_claim_unclaim_and_views(client, login, case):
    grid = login("grid")
    task_id = case["tasks"][0]["id"]
    assert [t["id"] for t in tasks(client, grid, "groups")] == [task_id]
    assert tasks(client, grid, "mine") == []
    claimed = act(client, grid, task_id, "claim")
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "grid"
    assert [t["id"] for t in tasks(client, grid, "mine")] == [task_id] and tasks(client, grid, "groups") == []
    again = act(client, grid, task_id, "claim")
    assert again.status_code == 409 and again.mimetype == PROBLEM
    assert act(client, login("mediator"), task_id, "claim").status_code == 403  # not the mediator's role
    assert act(client, grid, task_id, "unclaim").get_json()["assignee"] is None
    assert act(client, grid, task_id, "unclaim").status_code == 409


@pytest.fixture
def grid2(svc):
    """A second grid worker in the same grid."""
    from sqlalchemy import select

    from api.core.auth import hash_password
    from api.core.models import OrgUnit, User, UserRole

    with svc.db.write() as session, session.begin():
        unit = session.scalars(select(OrgUnit).where(OrgUnit.code == "songbu-yangjiawan-g1")).one()
        user = User(username="grid1b", display_name="网格员二", password_hash=hash_password("test-password"),
                    unit_id=unit.id, created_at=svc.clock.now())
        user.role_links = [UserRole(role_code="grid_worker")]
        session.add(user)
    return "grid1b"


def test_reassign_by_supervisor_then_the_old_holder_cannot_complete(client, login, case, grid2):
    grid = login("grid")
    task_id = case["tasks"][0]["id"]
    act(client, grid, task_id, "claim")
    assert act(client, grid, task_id, "reassign", to=grid2, reason="x").status_code == 403
    bad = act(client, login("city"), task_id, "reassign", to="mediator", reason="调整")
    assert bad.status_code == 422 and "to" in bad.get_json()["errors"]
    moved = act(client, login("city"), task_id, "reassign", to=grid2, reason="网格员请假")
    assert moved.status_code == 200 and moved.get_json()["assignee"] == grid2
    late = client.post(f"/api/v1/tasks/{task_id}/complete", headers=grid, json={"data": {"summary": "邻里纠纷", "amount": 1}})
    assert late.status_code == 409 and late.mimetype == PROBLEM
    done = client.post(f"/api/v1/tasks/{task_id}/complete", headers=login(grid2),
                       json={"data": {"summary": "邻里纠纷", "amount": 1}})
    assert done.status_code == 200
    notes = client.get("/api/v1/notifications", headers=login(grid2)).get_json()
    assert notes[0]["kind"] == "reassigned" and "网格员请假" in notes[0]["message"]


def test_delegate_resolve_and_recall(client, login, case, grid2):
    grid, helper = login("grid"), login(grid2)
    task_id = case["tasks"][0]["id"]
    assert act(client, grid, task_id, "delegate", to=grid2, note="帮忙核实").status_code == 409  # claim first
    act(client, grid, task_id, "claim")
    assert act(client, grid, task_id, "delegate", to="mediator", note="x").status_code == 422  # wrong role
    delegated = act(client, grid, task_id, "delegate", to=grid2, note="帮忙核实金额").get_json()
    assert (delegated["assignee"], delegated["owner"]) == (grid2, "grid")
    assert client.post(f"/api/v1/tasks/{task_id}/complete", headers=grid, json={"data": {}}).status_code == 409
    assert act(client, grid, task_id, "recall").get_json()["assignee"] == "grid"
    act(client, grid, task_id, "delegate", to=grid2, note="再次委派")
    resolved = act(client, helper, task_id, "resolve", draft={"amount": 800}).get_json()
    assert (resolved["assignee"], resolved["owner"], resolved["draft"]) == ("grid", None, {"amount": 800})
    assert act(client, helper, task_id, "resolve", draft={}).status_code == 409
    done = client.post(f"/api/v1/tasks/{task_id}/complete", headers=grid, json={"data": {"summary": "邻里纠纷", "amount": 800}})
    assert done.status_code == 200


def test_return_to_a_returnable_step(client, login, case):
    grid, mediator = login("grid"), login("mediator")
    task_id = case["tasks"][0]["id"]
    done = client.post(f"/api/v1/tasks/{task_id}/complete", headers=grid,
                       json={"data": {"summary": "宅基地边界纠纷", "amount": 5000}}).get_json()
    [mediate] = done["tasks"]
    refused = act(client, mediator, mediate["id"], "return", to_element="grade", reason="x")
    assert refused.status_code == 409 and "not marked returnable" in refused.get_json()["detail"]
    unknown = act(client, mediator, mediate["id"], "return", to_element="nowhere", reason="x")
    assert unknown.status_code == 404
    no_reason = act(client, mediator, mediate["id"], "return", to_element="register")
    assert no_reason.status_code == 422
    returned = act(client, mediator, mediate["id"], "return", to_element="register", reason="金额登记有误")
    assert returned.status_code == 200
    [back] = returned.get_json()
    assert back["element_id"] == "register"
    gone = client.post(f"/api/v1/tasks/{mediate['id']}/complete", headers=mediator, json={"data": {}})
    assert gone.status_code == 409
    notes = client.get("/api/v1/notifications", headers=grid).get_json()
    assert notes and notes[0]["kind"] == "returned"


def test_urge_and_copy_notify(client, login, case):
    grid, town = login("grid"), login("town")
    task_id = case["tasks"][0]["id"]
    assert act(client, grid, task_id, "urge", message="快").status_code == 403
    assert act(client, town, task_id, "urge", message="今天内登记").status_code == 200
    [note] = client.get("/api/v1/notifications?unread=true", headers=grid).get_json()
    assert note["kind"] == "urge" and "今天内登记" in note["message"]
    assert client.post(f"/api/v1/notifications/{note['id']}/read", headers=grid).status_code == 204
    assert client.get("/api/v1/notifications?unread=true", headers=grid).get_json() == []
    assert act(client, grid, task_id, "copy", to=["nobody"], note="x").status_code == 422
    assert act(client, grid, task_id, "copy", to=["mediator"], note="请知悉").status_code == 200
    assert client.get("/api/v1/notifications", headers=login("mediator")).get_json()[0]["kind"] == "copy"
    events = client.get(f"/api/v1/cases/{case['id']}/events", headers=login("auditor")).get_json()["items"]
    assert [e["type"] for e in events] == ["case_started", "task_urged", "task_copied"]


def test_webhook_channel_posts_notifications(client, login, case, svc):
    received = []

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            received[-1]["idempotency_key"] = self.headers["Idempotency-Key"]
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        act(client, login("town"), case["tasks"][0]["id"], "urge", message="请尽快登记")
        url = f"http://127.0.0.1:{server.server_address[1]}/sms"
        assert send_pending(svc.db, url, svc.clock.now()) == 1
        assert send_pending(svc.db, url, svc.clock.now()) == 0  # sent once
    finally:
        server.shutdown()
    assert received[0]["to"] == "grid" and received[0]["kind"] == "urge"
    assert received[0]["idempotency_key"] == f"notification-{received[0]['id']}"


def test_comments_and_attachments(client, login, case):
    grid, auditor = login("grid"), login("auditor")
    assert client.post(f"/api/v1/cases/{case['id']}/comments", headers=grid, json={"text": "已电话联系双方"}).status_code == 201
    assert client.post(f"/api/v1/cases/{case['id']}/comments", headers=auditor, json={"text": "x"}).status_code == 403
    assert [c["text"] for c in client.get(f"/api/v1/cases/{case['id']}/comments", headers=auditor).get_json()] == ["已电话联系双方"]
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    posted = client.post(f"/api/v1/cases/{case['id']}/attachments", headers=grid,
                         data={"file": (io.BytesIO(png), "现场照片.png")}, content_type="multipart/form-data")
    assert posted.status_code == 201
    attachment = posted.get_json()
    fake = client.post(f"/api/v1/cases/{case['id']}/attachments", headers=grid,
                       data={"file": (io.BytesIO(b"MZ-not-a-png"), "x.png")}, content_type="multipart/form-data")
    assert fake.status_code == 415 and fake.mimetype == PROBLEM
    exe = client.post(f"/api/v1/cases/{case['id']}/attachments", headers=grid,
                      data={"file": (io.BytesIO(b"MZ"), "x.exe")}, content_type="multipart/form-data")
    assert exe.status_code == 415
    got = client.get(f"/api/v1/attachments/{attachment['id']}", headers=auditor)
    assert got.status_code == 200 and got.data == png
    assert client.get(f"/api/v1/attachments/{attachment['id']}", headers=login("dept")).status_code == 404
    events = client.get(f"/api/v1/cases/{case['id']}/events", headers=auditor).get_json()["items"]
    assert events[-1]["type"] == "attachment_added" and events[-1]["payload"]["sha256"] == attachment["sha256"]


def test_overdue_view_and_board(client, login, case, clock):
    grid, town = login("grid"), login("town")
    assert tasks(client, grid, "overdue") == []
    assert [t["id"] for t in tasks(client, grid, "due_soon")] == [case["tasks"][0]["id"]]
    clock.advance(hours=3)
    [late] = tasks(client, grid, "overdue")
    assert late["overdue"] is True
    board = client.get("/api/v1/tasks/overdue-board", headers=town).get_json()
    assert board["total"] == 1 and board["by_town"] == [{"path": "/macheng/songbu/", "name": "宋埠镇", "count": 1}]
    assert client.get("/api/v1/tasks/overdue-board", headers=login("dept")).get_json()["total"] == 0


def test_an_admin_opening_a_case_is_on_the_record(client, login, case, svc):
    from sqlalchemy import select

    from api.core.models import AdminAudit

    assert client.get(f"/api/v1/cases/{case['id']}", headers=login("admin")).status_code == 200
    client.get(f"/api/v1/cases/{case['id']}", headers=login("city"))
    with svc.db.read() as session:
        [entry] = session.scalars(select(AdminAudit).where(AdminAudit.action == "case_access"))
    assert entry.actor == "admin" and entry.after["case_no"] == case["case_no"]


def test_completed_view(client, login, case):
    grid = login("grid")
    task_id = case["tasks"][0]["id"]
    client.post(f"/api/v1/tasks/{task_id}/complete", headers=grid, json={"data": {"summary": "邻里纠纷", "amount": 1}})
    assert [t["id"] for t in tasks(client, grid, "completed")] == [task_id]


def test_new_tasks_notify_the_people_they_are_offered_to_once(client, login, case, svc, clock):
    from api.core.notify import notify_new_tasks

    assert notify_new_tasks(svc.db, clock.now()) == 1
    assert notify_new_tasks(svc.db, clock.now()) == 0
    [note] = client.get("/api/v1/notifications", headers=login("grid")).get_json()
    assert note["kind"] == "new_task" and "登记纠纷" in note["message"]
    assert client.get("/api/v1/notifications", headers=login("mediator")).get_json() == []


def test_overdue_tasks_notify_their_holders_once(client, login, case, svc, clock):
    from api.core.notify import notify_overdue

    assert notify_overdue(svc.db, clock.now()) == 0
    clock.advance(hours=3)
    assert notify_overdue(svc.db, clock.now()) == 1
    assert notify_overdue(svc.db, clock.now()) == 0
    [note] = client.get("/api/v1/notifications", headers=login("grid")).get_json()
    assert note["kind"] == "overdue" and "已超期" in note["message"]


def test_two_workers_telling_of_new_and_overdue_tasks_tell_each_person_once(svc, clock):
    """Both workers' rounds find the same fresh tasks at once: each (task, person, kind) is told once."""
    from sqlalchemy import func, select

    from api.core.notify import Notification, notify_new_tasks, notify_overdue

    from .conftest import REPEATS, deploy
    from .test_exactly_once import together

    deploy(svc, "t_simple.bpmn", "t_register.schema.json")
    for _ in range(REPEATS):
        svc.cases.start("t_simple", {}, "grid", "/macheng/songbu/songbu-yangjiawan/songbu-yangjiawan-g1/")
        together(*[lambda: notify_new_tasks(svc.db, clock.now())] * 2)
        clock.advance(hours=3)  # past the register task's 2-hour deadline
        together(*[lambda: notify_overdue(svc.db, clock.now())] * 2)
    with svc.db.read() as session:
        told = session.execute(select(Notification.kind, Notification.task_id, Notification.username, func.count())
                               .group_by(Notification.kind, Notification.task_id, Notification.username)).all()
    assert {kind for kind, *_ in told} == {"new_task", "overdue"}
    assert [row for row in told if row[3] != 1] == []
