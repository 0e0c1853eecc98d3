"""Tasks: the caller's READY tasks, and completing one."""
from __future__ import annotations

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
    """READY tasks offered to the caller: the lane's role, within the caller's jurisdiction."""
    principal = auth.current()
    svc = services()
    conditions = [CaseTask.state == "ready", task_offered_to(principal)]
    if query.get("process_key"):
        conditions.append(Case.process_key == query["process_key"])
    if query.get("case_no"):
        conditions.append(Case.case_no == query["case_no"])
    with svc.db.read() as session:
        rows = session.execute(
            select(CaseTask, Case.case_no).join(Case, Case.id == CaseTask.case_id).where(*conditions)
            .order_by(CaseTask.due_at.is_(None), CaseTask.due_at, CaseTask.priority.desc(), CaseTask.created_at)
            .limit(query["limit"])).all()
        return [task_out(task, case_no) for task, case_no in rows]


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
