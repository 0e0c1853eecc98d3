"""Tasks: the caller's READY tasks, and completing one."""
from __future__ import annotations

from datetime import timedelta

from flask_smorest import Blueprint
from sqlalchemy import select

from engine.errors import NotFound
from engine.models import Case, CaseTask

from .. import auth
from ..problems import ApiProblem
from ..schemas import CaseOut, TaskComplete, TaskOut, TaskQuery
from ..scope import task_offered_to
from ..services import services
from .cases import case_out, task_out

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="Tasks")


@blp.get("")
@blp.arguments(TaskQuery, location="query")
@blp.response(200, TaskOut(many=True))
def list_tasks(query):
    """The caller's inbox (待办): by default the tasks claimed by the caller and those offered to the
    caller's roles within their jurisdiction and not claimed by anyone; other views below."""
    principal = auth.current()
    svc = services()
    now = svc.clock.now()
    conditions = _view_conditions(principal, query["view"], now)
    for field in ("process_key", "case_no"):
        if query.get(field):
            conditions.append(getattr(Case, field) == query[field])
    for field in ("category", "risk_level"):
        if query.get(field):
            conditions.append(Case.data[field].as_string() == query[field])
    with svc.db.read() as session:
        rows = session.execute(
            select(CaseTask, Case.case_no).join(Case, Case.id == CaseTask.case_id).where(*conditions)
            .order_by(*SORTS[query["sort"]]).limit(query["limit"])).all()
        return [task_out(task, case_no, now) for task, case_no in rows]


SORTS = {
    "due": (CaseTask.due_at.is_(None), CaseTask.due_at, CaseTask.priority.desc(), CaseTask.created_at),
    "priority": (CaseTask.priority.desc(), CaseTask.due_at.is_(None), CaseTask.due_at, CaseTask.created_at),
    "created": (CaseTask.created_at.desc(),),
}
DUE_SOON = timedelta(hours=24)


def _view_conditions(principal, view: str, now) -> list:
    if view == "completed":
        return [CaseTask.state == "completed", CaseTask.closed_by == principal.username]
    mine = CaseTask.assignee == principal.username
    offered = task_offered_to(principal) & CaseTask.assignee.is_(None)
    conditions = [CaseTask.state == "ready", {"mine": mine, "groups": offered}.get(view, mine | offered)]
    if view == "overdue":
        conditions.append(CaseTask.due_at < now)
    elif view == "due_soon":
        conditions += [CaseTask.due_at >= now, CaseTask.due_at < now + DUE_SOON]
    return conditions


@blp.post("/<task_id>/complete")
@blp.arguments(TaskComplete)
@blp.response(200, CaseOut)
def complete_task(body, task_id: str):
    """Complete a READY task with its form data: 409 if no longer ready, 422 if the data is invalid,
    403 if the task is not the caller's."""
    principal = auth.current()

    def authorize(task: CaseTask, case: Case) -> None:
        if not (principal.covers(task.jurisdiction) or principal.covers(case.jurisdiction)):
            raise NotFound(f"task {task_id} does not exist or is outside your jurisdiction")
        if task.role not in principal.roles:
            raise ApiProblem(403, f"task '{task.name}' is for the role {task.role}", "该任务不属于您的角色")

    svc = services()
    return case_out(svc.cases.complete_task(task_id, body["data"], principal.username, authorize=authorize))
