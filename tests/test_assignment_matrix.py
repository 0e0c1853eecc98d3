"""指派 and 转派: the rules table of docs/assignment.md as a matrix, and the bad input through HTTP
(422 with the reason in Chinese, deactivated users, races → 409), every change an audit event that
replays."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from api.cases import assign as rules
from api.core.auth import Principal
from api.core.models import User
from api.core.problems import ApiProblem
from engine.cases import CaseService
from engine.models import Case, CaseEvent, CaseTask

from .test_assignment_scenarios import inbox
from .test_process_mediation import library  # noqa: F401 - the bundled processes, deployed

VILLAGE = "/macheng/songbu/songbu-yangjiawan/"
TASK = CaseTask(id="t", case_id=1, role="grid_worker", jurisdiction=VILLAGE, name="网格入户核查", state="ready")
CASE = Case(id=1, jurisdiction=VILLAGE)

# (caller, action, target, refusal): refusal None = allowed, else a part of the Chinese reason.
# action: person / unit (指派), transfer (转派, to the unit's usual role), transfer:<role>.
MATRIX = [
    ("town", "person", "grid2", None),                          # a grid worker of the town
    ("director", "person", "grid2", None),
    ("city", "person", "grid2", None),
    ("city", "person", "grid_gs", None),                        # the city reaches every town
    ("town", "person", "grid_gs", "不在您的辖区内"),             # another town's grid worker
    ("town", "person", "mediator", "没有该任务需要的角色「网格员」"),
    ("town", "person", "nobody", "不存在"),
    ("town_gs", "task", None, "该任务不在您的辖区内"),            # another town's task
    ("town", "unit", "songbu-yangjiawan-g2", None),             # to a grid where a grid worker sits
    ("town", "unit", "minzheng", "不在您的辖区内"),              # a city department is above the town
    ("city", "unit", "minzheng", "没有「网格员」"),              # nobody there holds the task's role
    ("town", "transfer", "macheng", None),                      # up to the city centre
    ("town", "transfer", "songbu-sifasuo", None),               # down to a department of the town
    ("town", "transfer", "guishan", "只能转派到上级综治中心或本辖区内的单位"),  # sideways to another town
    ("town", "transfer", "guishan-guifeng", "只能转派到上级综治中心或本辖区内的单位"),
    ("city", "transfer", "guishan", None),
    ("town", "transfer:leader", "songbu", "没有「包案领导」"),
    ("town", "transfer:no_such_role", "macheng", "角色「no_such_role」不存在"),
    ("town", "transfer", "no-such-unit", "不存在"),
]


def principal_of(session, username: str) -> Principal:
    user = session.scalars(select(User).where(User.username == username)).one()
    return Principal(id=user.id, username=user.username, display_name=user.display_name,
                     roles=frozenset(user.roles), unit_path=user.unit.path, unit_name=user.unit.name)


@pytest.mark.parametrize("caller, action, target, refusal", MATRIX)
def test_the_rules_table(app, svc, caller, action, target, refusal):
    with app.app_context(), svc.db.read() as session:
        principal = principal_of(session, caller)
        kind, _, role = action.partition(":")
        check = {"task": lambda: rules.check_task(principal, TASK, CASE),
                 "person": lambda: rules.check_person(session, principal, TASK, target),
                 "unit": lambda: rules.check_unit(session, principal, TASK, target),
                 "transfer": lambda: rules.check_transfer(session, principal, TASK, target, role or None)}[kind]
        if refusal is None:
            check()
        else:
            with pytest.raises(ApiProblem) as refused:
                check()
            assert refused.value.status == 422 and refusal in refused.value.message


@pytest.fixture
def verify_task(client, login, svc, library):
    """A lead's 网格入户核查 at the village (the address named no grid), ready for the village's grid workers."""
    from .test_assignment_scenarios import _hotline, _case_id, work
    from api.intake import service as intake
    key = intake.new_key(svc.db, "hotline_12345", "test", svc.clock.now())
    pushed = client.post("/api/v1/intake/hotline_12345", headers={"X-Api-Key": key},
                         json=_hotline(ref="12345-B", where={"address": "杨家湾村", "unit_code": "songbu-yangjiawan"}))
    case_id = _case_id(client, login("city"), pushed.get_json()["case_no"])
    work(client, login("city"), case_id, "screen")
    return inbox(client, login("grid"), case_id)["verify"]


@pytest.mark.usefixtures("verify_all_cases")
def test_bad_assignments_are_refused_in_chinese_and_changes_are_audited(client, login, svc, verify_task):
    town, task_id = login("town"), verify_task["id"]

    def assign(**body):
        return client.post(f"/api/v1/tasks/{task_id}/assign", headers=town, json=body)

    outside = assign(to="grid_gs")
    assert outside.status_code == 422 and outside.mimetype == "application/problem+json"
    assert "不在您的辖区内" in outside.get_json()["message"] and outside.get_json()["errors"]["to"]
    assert "没有该任务需要的角色" in assign(to="mediator").get_json()["message"]
    assert assign(to="grid2", unit="minzheng").status_code == 422                  # a person or a unit, not both
    assert client.post(f"/api/v1/tasks/{task_id}/transfer", headers=town, json={"unit": "macheng"}).status_code == 422
    assert client.post(f"/api/v1/tasks/{task_id}/assign", headers=login("grid"), json={"to": "grid2"}).status_code == 403
    admin = login("admin")
    grid2 = client.get("/api/v1/admin/users?q=grid2", headers=admin).get_json()["items"][0]
    assert client.delete(f"/api/v1/admin/users/{grid2['id']}", headers=admin).status_code == 204
    deactivated = assign(to="grid2")
    assert deactivated.status_code == 422 and "已停用" in deactivated.get_json()["message"]
    assert client.patch(f"/api/v1/admin/users/{grid2['id']}", headers=admin, json={"active": True}).status_code == 200

    assert assign(to="grid2", reason="包片").status_code == 200
    with svc.db.read() as session:
        [event] = session.scalars(select(CaseEvent).where(CaseEvent.type == "task_assigned"))
        assert (event.actor, event.payload["to"], event.payload["from_unit"]) == ("town", "grid2", VILLAGE)
    done = client.post(f"/api/v1/tasks/{task_id}/complete", headers=login("grid2"),
                       json={"data": {"visited_household": "李某家", "findings": "误报", "lead_result": "false_alarm"}})
    assert done.status_code == 200, done.get_json()
    late = assign(to="grid2")
    assert late.status_code == 409                                                 # the task is done


def test_two_assignments_at_once_one_wins_the_other_is_told_409(client, login, svc, verify_task, monkeypatch):
    """The first request reads the task; before it writes, a second one lands: the first is refused."""
    task_id, record = verify_task["id"], CaseService._record
    rival = threading.Event()

    def interleaved(self, case_id, event, apply, also=None):
        if event.type == "task_assigned" and not rival.is_set():
            rival.set()
            assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=login("grid")).status_code == 200
        return record(self, case_id, event, apply, also)
    monkeypatch.setattr(CaseService, "_record", interleaved)
    raced = client.post(f"/api/v1/tasks/{task_id}/assign", headers=login("town"), json={"to": "grid2"})
    assert raced.status_code == 409 and raced.mimetype == "application/problem+json"
    with svc.db.read() as session:
        task = session.get(CaseTask, task_id)
        assert task.assignee == "grid" and not session.scalars(select(CaseEvent).where(
            CaseEvent.type == "task_assigned")).all()
