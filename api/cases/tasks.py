"""Tasks: the caller's inbox, one task with its form and the actions the caller may take, and
completing one."""
from __future__ import annotations

from datetime import timedelta

from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import func, select

from api.core import auth
from api.core.categories import Categories
from api.core.guards import audit_admin_access, roles, visible_task, writer
from api.core.org import display_names
from api.core.pii import masked
from api.core.problems import ApiProblem
from api.core.scope import task_offered_to
from api.core.services import services
from api.documents.service import require_documents
from engine.cases import OPEN_STATUSES
from engine.errors import Conflict, InvalidData, NotFound
from engine.models import Case, CaseTask, DefinitionVersion
from engine.task_actions import returnable_step
from engine.verify import load_events

from . import formview
from .journal import attachment_problems
from .routes import case_out, task_out
from .schemas import CaseOut, TaskComplete, TaskOut, TaskQuery
from .assign import CENTRE_ROLES
from .work import SUPERVISORS, URGERS, candidates, offered, returner

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="Tasks")


class TaskCounts(Schema):
    todo = fields.Integer()
    mine = fields.Integer()
    groups = fields.Integer()
    overdue = fields.Integer()
    due_soon = fields.Integer()
    completed = fields.Integer()


class TaskListItem(TaskOut):
    case_title = fields.String(allow_none=True)
    first_handler = fields.String(allow_none=True, metadata={"description": "the case's 首办负责人 (username)"})
    first_handler_name = fields.String(allow_none=True)
    assignee_name = fields.String(allow_none=True, metadata={"description": "the assignee's display name"})
    owner_name = fields.String(allow_none=True, metadata={"description": "the delegator's display name"})


class ReturnTarget(Schema):
    element_id = fields.String()
    name = fields.String()


class TaskCaseSummary(Schema):
    id = fields.Integer()
    case_no = fields.String()
    title = fields.String()
    process_key = fields.String()
    definition_version = fields.Integer()
    status = fields.String()
    jurisdiction = fields.String()
    category = fields.String(allow_none=True)
    risk_level = fields.String(allow_none=True)
    parties = fields.List(fields.Dict(), metadata={"description": "masked"})
    created_by = fields.String()
    created_by_name = fields.String(allow_none=True)
    created_at = fields.DateTime()


class TaskDetail(TaskListItem):
    form = fields.Dict(allow_none=True, metadata={
        "description": "the JSON Schema of the task's form (form_key) in the case's definition version, resolved "
                       "for this task: x-options fields carry their choices as oneOf, x-default fields a default"})
    options = fields.Dict(metadata={"description": "field path → [{value, title}]: the choices each x-options "
                                                   "field offers here (the server accepts only these)"})
    facts = fields.List(fields.Dict(), metadata={
        "description": "[{title, value}] the facts the step decides on (the form's x-facts), as text"})
    returnable = fields.List(fields.Nested(ReturnTarget), metadata={
        "description": "earlier steps this task may be returned to (marked returnable, already done)"})
    case = fields.Nested(TaskCaseSummary)
    candidates = fields.List(fields.Dict(), metadata={
        "description": "[{username, display_name}] the task may be delegated or reassigned to"})
    actions = fields.List(fields.String(), metadata={"description": (
        "what the caller may do now: claim, unclaim, complete, return, delegate, resolve, recall, reassign, "
        "assign (指派), transfer (转派), urge, copy")})


@blp.get("")
@blp.arguments(TaskQuery, location="query")
@blp.response(200, TaskListItem(many=True))
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
            select(CaseTask, Case.case_no, Case.title, Case.first_handler).join(Case, Case.id == CaseTask.case_id)
            .where(*conditions).order_by(*SORTS[query["sort"]]).limit(query["limit"])).all()
        names = display_names(session, {name for task, _, _, first in rows
                                        for name in (task.assignee, task.owner, first) if name})
        return [{**_task(task, case_no, now, names), "case_title": title, "first_handler": first,
                 "first_handler_name": names.get(first) if first else None}
                for task, case_no, title, first in rows]


VIEWS = ("todo", "mine", "groups", "overdue", "due_soon", "completed")


@blp.get("/counts")
@blp.response(200, TaskCounts)
def count_tasks():
    """How many tasks each inbox view holds (the numbers on the 待办 tabs), in one round trip."""
    principal = auth.current()
    now = services().clock.now()
    with services().db.read() as session:
        return {view: session.scalar(select(func.count()).select_from(CaseTask)
                                     .where(*_view_conditions(principal, view, now))) for view in VIEWS}


def _task(task: CaseTask, case_no: str, now=None, names: dict[str, str] | None = None) -> dict:
    out = task_out(task, case_no, now)
    names = names or {}
    out["assignee_name"] = names.get(task.assignee) if task.assignee else None
    out["owner_name"] = names.get(task.owner) if task.owner else None
    return out


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
    svc = services()

    def authorize(task: CaseTask, case: Case) -> None:
        _may_complete(principal, task, case)
        with svc.db.read() as session:
            schema = svc.registry.load(session, case.definition_id).forms.get(task.form_key or "")
            problems = attachment_problems(session, case.id, schema, body["data"] or {})
            offered = formview.option_errors(schema, body["data"] or {}, _form_context(session, principal, case, task))
        if problems:
            raise InvalidData("the form points at attachments that are not this case's", problems)
        if offered:
            raise InvalidData("the form names a unit, department, person or category it did not offer", offered)
        require_documents(svc, task, case)  # the step's documentsRequired (issued, signed)
    return case_out(svc.cases.complete_task(task_id, body["data"], principal.username, authorize=authorize))


def _may_complete(principal, task: CaseTask, case: Case) -> None:
    if task.assignee == principal.username and task.role in principal.roles:
        return  # given to them by name (指派, or the process named them)
    if not (principal.covers(task.jurisdiction) or principal.covers(case.jurisdiction)
            or principal.offered(task.role, task.jurisdiction)):
        raise NotFound(f"task {task.id} does not exist or is outside your jurisdiction")
    if task.role not in principal.roles:
        raise ApiProblem(403, f"task '{task.name}' is for the role {task.role}", "该任务不属于您的角色")


@blp.get("/<task_id>")
@blp.response(200, TaskDetail)
def get_task(task_id: str):
    """One task the caller may see (404 otherwise), with its form's JSON Schema, the case summary,
    the steps it may be returned to, and the actions the caller may take on it now."""
    principal = auth.current()
    task = visible_task(task_id)
    svc = services()
    now = svc.clock.now()
    with svc.db.read() as session:
        case = session.get(Case, task.case_id)
        version = session.get(DefinitionVersion, case.definition_id)
        loaded = svc.registry.load(session, case.definition_id)
        events, _ = load_events(session, case.id) if task.state == "ready" else ([], None)
        people = candidates(session, task, principal.username)
        names = display_names(session, {name for name in (task.assignee, task.owner, case.created_by) if name})
        schema = loaded.forms.get(task.form_key) if task.form_key else None
        ctx = _form_context(session, principal, case, task, events)
        if schema and schema.get("x-facts") and task.state == "ready":
            ctx.task_data = svc.cases.task_data(task.id)  # a parallel instance's own variables
        form, offered = formview.resolved_form(schema, ctx)
        out_facts = formview.facts(schema, ctx)
    if "admin" in principal.roles:
        audit_admin_access(principal, case)
    out = {**_task(task, case.case_no, now, names), "case_title": case.title}
    out["form"] = with_order(form)
    out["options"] = offered
    out["facts"] = out_facts
    out["returnable"] = _return_targets(loaded, events)
    data = masked(case.data or {})
    out["case"] = {"id": case.id, "case_no": case.case_no, "title": case.title, "process_key": case.process_key,
                   "definition_version": version.version, "status": case.status, "jurisdiction": case.jurisdiction,
                   "category": _text(data.get("category")), "risk_level": _text(data.get("risk_level")),
                   "parties": [p for p in data.get("parties") or [] if isinstance(p, dict)],
                   "created_by": case.created_by, "created_by_name": names.get(case.created_by),
                   "created_at": case.created_at}
    out["actions"] = _actions(principal, task, case, bool(out["returnable"]))
    out["candidates"] = people if {"delegate", "reassign"} & set(out["actions"]) else []
    return out


def _form_context(session, principal, case: Case | None, task: CaseTask | None, events=()) -> formview.Context:
    svc = services()
    return formview.Context(session, principal.username, principal.display_name, principal.unit_path, case,
                            Categories.load(svc.settings.workflows_dir), svc.clock.now(), task, events=list(events))


def with_order(schema):
    """A copy of a form schema where every object names its properties' order in ``x-order``: JSON
    answers are written with sorted keys, and a form must keep the order its author gave."""
    if isinstance(schema, list):
        return [with_order(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: with_order(value) for key, value in schema.items()}
    if isinstance(schema.get("properties"), dict):
        out["x-order"] = list(schema["properties"])
    return out


def _text(value) -> str | None:
    return None if value is None else str(value)


def _return_targets(loaded, events) -> list[dict]:
    """The completed steps that return_to (engine/task_actions.py) would accept, latest first."""
    targets: dict[str, str] = {}
    for event in reversed(events):
        if event.type != "task_completed":
            continue
        element_id = event.payload["task"]["element_id"]
        if element_id in targets:
            continue
        try:
            targets[element_id] = returnable_step(loaded, element_id)
        except (Conflict, NotFound):
            targets[element_id] = ""
    return [{"element_id": e, "name": n} for e, n in targets.items() if n]


def _passes(guard, **kwargs) -> bool:
    """Whether a route's own guard lets the caller through (the same check the action runs)."""
    try:
        guard(lambda **_: True)(**kwargs)
        return True
    except (ApiProblem, NotFound):
        return False


def _actions(principal, task: CaseTask, case: Case, can_return: bool) -> list[str]:
    """What the caller may do on the task now: the guards of the action routes (api/cases/work.py
    and complete_task above) and the task-state preconditions of the engine (engine/task_actions.py)."""


    if task.state != "ready" or case.status not in OPEN_STATUSES:
        return []
    me = principal.username
    may_write = _passes(writer)
    actions = []
    if offered(principal, task) and task.assignee is None:
        actions.append("claim")
    if task.assignee and (task.assignee == me or principal.has_role(*SUPERVISORS)):
        actions.append("unclaim")
    if task.assignee in (None, me) and _passes(lambda view: lambda **_: _may_complete(principal, task, case)):
        actions.append("complete")
    if can_return and _passes(returner, task_id=task.id):
        actions.append("return")
    if task.assignee == me:
        actions.append("delegate")
    if task.owner and task.assignee == me:
        actions.append("resolve")
    if task.owner == me:
        actions.append("recall")
    if _passes(roles(*SUPERVISORS)):
        actions.append("reassign")
    in_my_area = principal.covers(task.jurisdiction) or principal.covers(case.jurisdiction)
    if principal.has_role(*CENTRE_ROLES) and in_my_area:
        actions += ["assign", "transfer"]
    if _passes(roles(*URGERS)):
        actions.append("urge")
    if may_write:
        actions.append("copy")
    return actions


def start_form(process_key: str) -> dict | None:
    """The form a person fills to start a case of the latest version of ``process_key``: the first
    user task reached from the none start event (through scripts and gateways' default flows), e.g.
    dispute_intake → 登记纠纷 (intake_register). None when the process has none or is not deployed."""
    svc = services()
    with svc.db.read() as session:
        version = svc.registry.latest(session, process_key, required=False)
        if version is None:
            return None
        loaded = svc.registry.load(session, version.id)
    seen: set[str] = set()
    queue = [spec for spec in loaded.spec.task_specs.values() if type(spec).__name__ == "BpmnStartTask"]
    while queue:
        spec = queue.pop(0)
        if spec.name in seen:
            continue
        seen.add(spec.name)
        if getattr(spec, "manual", False):
            form_key, form = loaded.form_for(spec)
            with svc.db.read() as session:  # choices and defaults for the person registering
                form, _ = formview.resolved_form(form, _form_context(session, auth.current(), None, None))
            return {"process_key": process_key, "version": version.version, "element_id": spec.bpmn_id,
                    "name": spec.bpmn_name or spec.bpmn_id, "form_key": form_key, "form": with_order(form)}
        event = getattr(spec, "event_definition", None)
        if event is not None and type(event).__name__ != "NoneEventDefinition" and type(spec).__name__ == "StartEvent":
            continue
        default = getattr(spec, "default_task_spec", None)
        outputs = [o for o in spec.outputs if o.name == default] if default else list(spec.outputs)
        queue.extend(outputs)
    return None
