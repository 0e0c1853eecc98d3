"""指派 and 转派: a centre user (town or city) sends an open task to a named person or a unit.

* 指派 (assign): to a named person below the caller who holds the task's role, or to a unit
  below the caller (a department) where someone holds it. The task's unit becomes the person's
  (or that unit).
* 转派 (transfer): across levels, with a reason: up to a centre above the caller (the city), or
  down to a unit in the caller's area, for the role that works there.

The rules are one table in docs/assignment.md and are tested as a matrix
(tests/test_assignment_matrix.py). Refusals are 422 with the reason in Chinese; a task changed by
someone else meanwhile is 409. Every change is an audit event on the case (task_assigned,
task_transferred), informational for replay.
"""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate, validates_schema, ValidationError
from sqlalchemy import or_, select

from api.core import auth
from api.core.auth import Principal
from api.core.guards import roles, task_visible, visible_task
from api.core.models import OrgUnit, User, UserRole
from api.core.notify import telling
from api.core.org import like_prefix
from api.core.problems import ApiProblem
from api.core.services import services
from engine.models import Case, CaseTask

from .routes import task_out
from .work_schemas import TaskActionOut

blp = Blueprint("assign", __name__, url_prefix="/api/v1/tasks", description="指派 and 转派")

CENTRE_ROLES = ("town_officer", "town_director", "city_officer", "city_director")
# The role that works a task moved to a unit of each kind, unless the caller names one.
ROLE_FOR_KIND = {"city": "city_officer", "town": "town_officer", "village": "village_mediator",
                 "grid": "grid_worker", "department": "department_liaison"}


class _In(Schema):
    class Meta:
        unknown = EXCLUDE


class AssignIn(_In):
    to = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "a username"})
    unit = fields.String(validate=validate.Length(min=1, max=400),
                         metadata={"description": "a unit code or path (a department), instead of a person"})
    reason = fields.String(load_default="", validate=validate.Length(max=2000))

    @validates_schema
    def _one_target(self, data, **_):
        if bool(data.get("to")) == bool(data.get("unit")):
            raise ValidationError("name either a person (to) or a unit (unit)", "to")


class TransferIn(_In):
    unit = fields.String(required=True, validate=validate.Length(min=1, max=400),
                         metadata={"description": "the unit code or path the task moves to"})
    role = fields.String(validate=validate.Length(min=1, max=100),
                         metadata={"description": "the role that works it there (default by the unit's kind)"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


def _refuse(detail: str, message: str, field: str) -> ApiProblem:
    return ApiProblem(422, detail, message, errors={field: message})


def _centre_task(principal: Principal, task_id: str) -> tuple[CaseTask, Case]:
    """The task, if the caller's area holds it (the route let only centre users in)."""
    task = visible_task(task_id)
    with services().db.read() as session:
        case = session.get(Case, task.case_id)
    check_task(principal, task, case)
    return task, case


def check_task(principal: Principal, task: CaseTask, case: Case) -> None:
    if not (principal.covers(task.jurisdiction) or principal.covers(case.jurisdiction)):
        raise _refuse("the task is outside your area", "该任务不在您的辖区内，不能指派或转派", "task")


def _unit(session, ref: str, field: str) -> OrgUnit:
    unit = session.scalars(select(OrgUnit).where(or_(OrgUnit.code == ref, OrgUnit.path == ref))).first()
    if unit is None:
        raise _refuse(f"unknown unit {ref!r}", f"单位「{ref}」不存在", field)
    return unit


def _role_name(code: str) -> str:
    entry = next((e for e in services().roles.entries if e["code"] == code), None)
    return entry["zh"] if entry else code


def _someone_holds(session, role: str, unit: OrgUnit) -> bool:
    """An active user holds the role at the unit or within it."""
    return session.scalars(select(User.id).join(UserRole, UserRole.user_id == User.id).join(
        OrgUnit, OrgUnit.id == User.unit_id).where(UserRole.role_code == role, User.active.is_(True),
                                                   OrgUnit.path.like(like_prefix(unit.path), escape="\\"))
                           .limit(1)).first() is not None


def check_person(session, principal: Principal, task: CaseTask, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise _refuse(f"no user {username!r}", f"用户「{username}」不存在", "to")
    if not user.active:
        raise _refuse(f"user {username!r} is deactivated", f"「{user.display_name}」的账号已停用，不能指派", "to")
    if not principal.covers(user.unit.path):
        raise _refuse(f"{username} is outside your area", f"「{user.display_name}」不在您的辖区内，不能指派", "to")
    if task.role not in user.roles:
        raise _refuse(f"{username} lacks the role {task.role}",
                      f"「{user.display_name}」没有该任务需要的角色「{_role_name(task.role)}」", "to")
    return user


def check_unit(session, principal: Principal, task: CaseTask, ref: str) -> OrgUnit:
    unit = _unit(session, ref, "unit")
    if not principal.covers(unit.path):
        raise _refuse(f"{unit.path} is outside your area", f"「{unit.name}」不在您的辖区内，不能指派", "unit")
    if not _someone_holds(session, task.role, unit):
        raise _refuse(f"nobody at {unit.path} holds {task.role}",
                      f"「{unit.name}」没有「{_role_name(task.role)}」，不能指派到该单位", "unit")
    return unit


def check_transfer(session, principal: Principal, task: CaseTask, ref: str, role: str | None) -> tuple[str, OrgUnit]:
    unit = _unit(session, ref, "unit")
    upward = principal.unit_path.startswith(unit.path) and unit.kind in ("city", "town")
    if not (upward or principal.covers(unit.path)):
        raise _refuse(f"{unit.path} is neither above you nor in your area",
                      f"只能转派到上级综治中心或本辖区内的单位，「{unit.name}」不是", "unit")
    code = services().roles.resolve(role) if role else ROLE_FOR_KIND.get(unit.kind)
    if code is None:
        raise _refuse(f"unknown role {role!r}", f"角色「{role}」不存在", "role")
    if not _someone_holds(session, code, unit):
        raise _refuse(f"nobody at {unit.path} holds {code}",
                      f"「{unit.name}」没有「{_role_name(code)}」，不能转派到该单位", "unit")
    return code, unit


@blp.post("/<task_id>/assign")
@roles(*CENTRE_ROLES)
@task_visible
@blp.arguments(AssignIn)
@blp.response(200, TaskActionOut)
def assign(body, task_id: str):
    """指派: a centre user gives an open task to a named person below them holding its role, or sends
    it to a unit below them (a department) where someone holds the role."""
    principal = auth.current()
    task, case = _centre_task(principal, task_id)
    svc = services()
    with svc.db.read() as session:
        if body.get("to"):
            user = check_person(session, principal, task, body["to"])
            to_user, unit_path, told = user.username, user.unit.path, [user.username]
        else:
            unit = check_unit(session, principal, task, body["unit"])
            to_user, unit_path, told = None, unit.path, []
    also = telling(told, "assigned", f"{principal.display_name} 指派您办理「{task.name}」（{case.case_no}）",
                   svc.clock.now(), task.id)
    changed = svc.cases.assign(task_id, principal.username, to_user, unit_path, body["reason"], also=also)
    return task_out(changed, case.case_no)


@blp.post("/<task_id>/transfer")
@roles(*CENTRE_ROLES)
@task_visible
@blp.arguments(TransferIn)
@blp.response(200, TaskActionOut)
def transfer(body, task_id: str):
    """转派: a centre user moves an open task to another level (the city above, or a unit in their
    area) for the role that works there, with a reason."""
    principal = auth.current()
    task, case = _centre_task(principal, task_id)
    svc = services()
    with svc.db.read() as session:
        role, unit = check_transfer(session, principal, task, body["unit"], body.get("role"))
    changed = svc.cases.transfer(task_id, principal.username, role, unit.path, body["reason"])
    return task_out(changed, case.case_no)
