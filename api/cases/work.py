"""Working a task the way Chinese government workflow users expect: claim (签收) and unclaim,
reassign (转办, supervisors), delegate (委派) and take back, return to an earlier step (退回), urge
(催办), copy (抄送); and the overdue board (超期统计). Every action is an audit event on the case;
the people it concerns get a notification."""
from __future__ import annotations

import logging
from functools import wraps

from flask_smorest import Blueprint
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from api.core import auth
from api.core.auth import Principal
from api.core.guards import roles, task_visible, visible_task, writer
from api.core.models import OrgUnit, User, UserRole
from api.core.notify import holders, notify, telling
from api.core.org import display_names
from api.core.problems import ApiProblem
from api.core.scope import task_offered_to
from api.core.services import services
from engine.models import Case, CaseTask

from .routes import task_out
from .work_schemas import CopyIn, DelegateIn, OverdueBoard, ReassignIn, ResolveIn, ReturnIn, TaskActionOut, UrgeIn

log = logging.getLogger(__name__)
blp = Blueprint("work", __name__, url_prefix="/api/v1/tasks", description="Task actions")

SUPERVISORS = ("admin", "town_director", "city_director")
URGERS = SUPERVISORS + ("town_officer", "city_officer")


def _visible_task(principal: Principal, task_id: str) -> CaseTask:
    return visible_task(task_id)


def returner(view):
    """Only the task's holder (or whoever it is offered to) or a supervisor can return work."""
    @wraps(view)
    def guarded(*args, **kwargs):
        principal = auth.current()
        task = visible_task(kwargs["task_id"])
        if not (offered(principal, task) or task.assignee == principal.username or principal.has_role(*SUPERVISORS)):
            raise ApiProblem(403, "only the task's holder or a supervisor can return it", "只有任务办理人或主管可以退回")
        return view(*args, **kwargs)
    return guarded


def offered(principal: Principal, task: CaseTask) -> bool:
    return principal.offered(task.role, task.jurisdiction)


def _holders(task: CaseTask) -> list[str]:
    return holders(services().db, task)


def may_hold(user: User, task: CaseTask) -> bool:
    """Whether a user could be given the task: the task's role, over the task's area."""
    return user.active and task.role in user.roles and (task.jurisdiction.startswith(user.unit.path)
                                                         or user.unit.path.startswith(task.jurisdiction))


def candidates(session, task: CaseTask, besides: str) -> list[dict]:
    """The people a task could be reassigned or delegated to (the same rule the actions check)."""
    users = session.scalars(select(User).join(UserRole, UserRole.user_id == User.id)
                            .where(UserRole.role_code == task.role, User.active.is_(True), User.username != besides)
                            .order_by(User.username))
    return [{"username": u.username, "display_name": u.display_name} for u in users if may_hold(u, task)]


def _user_for(task: CaseTask, username: str) -> str:
    """A reassign/delegate target must exist, be active, hold the task's role over its area."""
    svc = services()
    with svc.db.read() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None or not user.active:
            raise ApiProblem(422, f"user '{username}' does not exist or is inactive", "目标用户不存在或已停用",
                             errors={"to": "unknown user"})
        if not may_hold(user, task):
            raise ApiProblem(422, f"user '{username}' cannot work on this task (role {task.role} over "
                                  f"{task.jurisdiction})", "目标用户没有该任务的角色或辖区", errors={"to": "not eligible"})
    return username


def _telling(task: CaseTask, recipients, kind: str, message: str):
    """Tell the people an action concerns (in-app and webhook), in the action's own transaction."""
    return telling(recipients, kind, message, services().clock.now(), task.id)


def _out(task: CaseTask) -> dict:
    svc = services()
    with svc.db.read() as session:
        case_no = session.scalar(select(Case.case_no).where(Case.id == task.case_id))
    return task_out(task, case_no)


@blp.post("/<task_id>/claim")
@blp.response(200, TaskActionOut)
def claim(task_id: str):
    """签收: take a task offered to your role, so it is yours alone."""
    principal = auth.current()
    task = _visible_task(principal, task_id)
    if not offered(principal, task):
        raise ApiProblem(403, f"task '{task.name}' is for the role {task.role}", "该任务不属于您的角色")
    return _out(services().cases.claim(task_id, principal.username))


@blp.post("/<task_id>/unclaim")
@blp.response(200, TaskActionOut)
def unclaim(task_id: str):
    """Give a claimed task back to the group (supervisors may do it for anyone)."""
    principal = auth.current()
    _visible_task(principal, task_id)
    return _out(services().cases.unclaim(task_id, principal.username, supervisor=principal.has_role(*SUPERVISORS)))


@blp.post("/<task_id>/reassign")
@roles(*SUPERVISORS)
@task_visible
@blp.arguments(ReassignIn)
@blp.response(200, TaskActionOut)
def reassign(body, task_id: str):
    """转办: a supervisor gives the task to another holder of its role."""
    principal = auth.current()
    task = _visible_task(principal, task_id)
    svc = services()
    told = _telling(task, [body["to"]], "reassigned", f"{principal.display_name} 将任务「{task.name}」转办给您：{body['reason']}")
    return _out(svc.cases.reassign(task_id, principal.username, _user_for(task, body["to"]), body["reason"], also=told))


@blp.post("/<task_id>/delegate")
@task_visible
@blp.arguments(DelegateIn)
@blp.response(200, TaskActionOut)
def delegate(body, task_id: str):
    """委派: the holder asks someone else to do the work; it comes back to the holder to complete."""
    principal = auth.current()
    task = _visible_task(principal, task_id)
    svc = services()
    told = _telling(task, [body["to"]], "delegated", f"{principal.display_name} 委派您办理「{task.name}」：{body['note']}")
    return _out(svc.cases.delegate(task_id, principal.username, _user_for(task, body["to"]), body["note"], also=told))


@blp.post("/<task_id>/resolve")
@task_visible
@blp.arguments(ResolveIn)
@blp.response(200, TaskActionOut)
def resolve(body, task_id: str):
    """The delegate hands the task back to its owner with the data they prepared."""
    principal = auth.current()
    task = _visible_task(principal, task_id)
    svc = services()
    told = _telling(task, [task.owner], "delegated", f"「{task.name}」已由 {principal.display_name} 办好交回")
    return _out(svc.cases.resolve_delegation(task_id, principal.username, body["draft"], also=told))


@blp.post("/<task_id>/recall")
@blp.response(200, TaskActionOut)
def recall(task_id: str):
    """Take back a task you delegated."""
    principal = auth.current()
    _visible_task(principal, task_id)
    return _out(services().cases.recall(task_id, principal.username))


@blp.post("/<task_id>/return")
@task_visible
@returner
@blp.arguments(ReturnIn)
@blp.response(200, TaskActionOut(many=True))
def return_task(body, task_id: str):
    """退回: send the work back to an earlier step marked returnable in the process."""
    principal = auth.current()
    task = _visible_task(principal, task_id)
    svc = services()
    view = svc.cases.return_to(task_id, principal.username, body["to_element"], body["reason"])
    try:  # the return is stored: telling its new holders cannot undo it (the worker tells them of new tasks too)
        for new in view.tasks:
            notify(svc.db, _holders(new), "returned", f"「{task.name}」退回到「{new.name}」：{body['reason']}",
                   svc.clock.now(), new.case_id, new.id)
    except SQLAlchemyError:
        log.warning("telling the holders of returned task %s failed", task_id, exc_info=True)
    return [task_out(t, view.case.case_no) for t in view.tasks]


@blp.post("/<task_id>/urge")
@roles(*URGERS)
@task_visible
@blp.arguments(UrgeIn)
@blp.response(200, TaskActionOut)
def urge(body, task_id: str):
    """催办: remind whoever holds the task (or its whole group)."""
    principal = auth.current()
    task = _visible_task(principal, task_id)
    svc = services()
    told = _telling(task, _holders(task), "urge", f"{principal.display_name} 催办「{task.name}」：{body['message']}")
    return _out(svc.cases.urge(task_id, principal.username, body["message"], also=told))


@blp.post("/<task_id>/copy")
@writer
@task_visible
@blp.arguments(CopyIn)
@blp.response(200, TaskActionOut)
def copy(body, task_id: str):
    """抄送: let other people know about a task, for information."""
    principal = auth.current()
    task = _visible_task(principal, task_id)
    svc = services()
    with svc.db.read() as session:
        known = set(session.scalars(select(User.username).where(User.username.in_(body["to"]))))
    unknown = sorted(set(body["to"]) - known)
    if unknown:
        raise ApiProblem(422, f"unknown users: {', '.join(unknown)}", "抄送对象不存在", errors={"to": ", ".join(unknown)})
    told = _telling(task, known, "copy", f"{principal.display_name} 抄送「{task.name}」：{body['note']}")
    return _out(svc.cases.copy_to(task_id, principal.username, sorted(known), body["note"], also=told))


@blp.get("/overdue-board")
@blp.response(200, OverdueBoard)
def overdue_board():
    """超期统计: ready tasks past their due time, counted by town and by department, in your area."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    with svc.db.read() as session:
        overdue = (CaseTask.state == "ready", CaseTask.due_at < now,
                   task_offered_to(principal) | Case.jurisdiction.startswith(principal.unit_path))
        rows = session.execute(select(CaseTask.jurisdiction, func.count()).join(Case, Case.id == CaseTask.case_id)
                               .where(*overdue).group_by(CaseTask.jurisdiction)).all()
        handlers = session.execute(select(Case.first_handler, func.count()).select_from(CaseTask)
                                   .join(Case, Case.id == CaseTask.case_id)
                                   .where(*overdue, Case.first_handler.is_not(None))
                                   .group_by(Case.first_handler)).all()
        people = display_names(session, {name for name, _ in handlers})
        units = {u.path: u for u in session.scalars(select(OrgUnit))}
    by_town: dict[str, int] = {}
    by_department: dict[str, int] = {}
    for jurisdiction, count in rows:
        unit = units.get(jurisdiction)
        if unit is not None and unit.kind == "department":
            by_department[unit.path] = by_department.get(unit.path, 0) + count
        else:
            parts = [p for p in jurisdiction.split("/") if p]
            town = f"/{parts[0]}/{parts[1]}/" if len(parts) >= 2 else jurisdiction
            by_town[town] = by_town.get(town, 0) + count

    def named(counts: dict[str, int]) -> list[dict]:
        return [{"path": path, "name": units[path].name if path in units else path, "count": n}
                for path, n in sorted(counts.items(), key=lambda item: -item[1])]
    return {"total": sum(by_town.values()) + sum(by_department.values()), "by_town": named(by_town),
            "by_department": named(by_department),
            "by_first_handler": [{"path": name, "name": people.get(name, name), "count": n}
                                 for name, n in sorted(handlers, key=lambda item: (-item[1], item[0]))]}
