"""Cases: start one, list and read them (scoped to the caller's jurisdiction), cancel, suspend, resume."""
from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import exists, func, select, true, union
from sqlalchemy.orm import defer

from api.core import auth
from api.core.guards import area_in_scope, case_visible, roles, scoped_case, writer
from api.core.models import OrgUnit
from api.core.org import display_names
from api.core.pii import UNMASK_ROLES, masked
from api.core.problems import ApiProblem
from api.core.scope import scoped_many
from api.core.services import services
from engine.cases import CaseView
from engine.models import Case, CaseField, CaseTask, DefinitionVersion

from .schemas import CaseAction, CaseCreate, CaseOut, CaseQuery, CaseSearch, CaseSummary

blp = Blueprint("cases", __name__, url_prefix="/api/v1/cases", description="Cases")

SUPERVISORS = ("admin", "city_director", "town_director")
# Case data fields a list row shows (none of them personal data).
LIST_FIELDS = ("category", "category_l2", "wuxiao", "risk_level", "owner_level", "channel", "source")


class AreaUnitOut(Schema):
    kind = fields.String()
    name = fields.String()
    path = fields.String()


class CaseDetailOut(CaseOut):
    area = fields.List(fields.Nested(AreaUnitOut), metadata={
        "description": "the org units of the jurisdiction below the city, top down (town, village, grid)"})
    created_by_name = fields.String(allow_none=True, metadata={"description": "the registering user's name"})


class CaseListItem(CaseSummary):
    area = fields.List(fields.Nested(AreaUnitOut))
    data_fields = fields.Dict(data_key="fields", attribute="fields", metadata={
        "description": "category, risk_level, channel … from the case data"})
    channel = fields.String(allow_none=True, metadata={
        "description": "where the case came from: the data's channel, or a lead's source"})
    overdue = fields.Boolean(metadata={"description": "a ready task is past its due time"})


class CaseListPage(Schema):
    items = fields.List(fields.Nested(CaseListItem))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


def case_out(view: CaseView, names: dict[str, str] | None = None) -> dict:
    case = view.case
    out = {column: getattr(case, column) for column in (
        "id", "case_no", "process_key", "status", "version", "jurisdiction", "title", "data", "incident",
        "created_by", "created_at", "updated_at", "completed_at", "first_handler")}
    people = {case.first_handler, *(task.assignee for task in view.tasks)} - {None}
    if people and names is None:
        # The caller's own name was read with their token in this request; most answers name no
        # one else (the first handler is usually the caller), so most need no query for names.
        me = auth.signed_in()
        names = {me.username: me.display_name} if me else {}
        if people - set(names):
            with services().db.read() as session:
                names.update(display_names(session, people - set(names)))
    names = names or {}
    out["first_handler_name"] = names.get(case.first_handler) if case.first_handler else None
    out["data"] = masked(case.data)  # personal data shows masked; see /personal-data
    out["definition_version"] = view.definition_version
    out["tasks"] = [{**task_out(task, case.case_no), "assignee_name": names.get(task.assignee)}
                    for task in view.tasks]
    return out


def task_out(task: CaseTask, case_no: str, now=None) -> dict:
    out = {column: getattr(task, column) for column in (
        "id", "case_id", "state", "element_id", "name", "lane", "role", "jurisdiction", "form_key", "due_at",
        "priority", "created_at", "assignee", "owner", "closed_at", "draft")}
    out["case_no"] = case_no
    out["draft"] = masked(task.draft) if task.draft else task.draft  # sealed like data, shown like data
    out["overdue"] = bool(task.due_at and task.state == "ready" and task.due_at < (now or services().clock.now()))
    return out


@blp.post("")
@writer
@blp.arguments(CaseCreate)
@blp.response(201, CaseOut)
def start_case(body):
    """Start a case on the latest version of a process."""
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        jurisdiction = area_in_scope(session, principal, body.get("jurisdiction") or principal.unit_path)
        level = session.scalar(select(OrgUnit.kind).where(OrgUnit.path == jurisdiction))
    # A fact for the process, not a rule: the diagram decides what the level means (dispute_intake:
    # a case started in a village is registered by the village, docs/processes/dispute_intake.md).
    data = {**body["data"], "start_level": level}
    return case_out(svc.cases.start(body["process_key"], data, principal.username, jurisdiction, body["title"]))


@blp.get("")
@blp.arguments(CaseQuery, location="query")
@blp.response(200, CaseListPage)
def list_cases(query):
    """Cases in the caller's jurisdiction, newest first, with their area's unit names, the data
    fields a list shows (category, risk level, channel) and their ready tasks. To find a party by
    ID number, POST the filters to /api/v1/cases/search."""
    if "id_no" in request.args:
        raise ApiProblem(400, "an ID number may not travel in a URL (URLs are logged): POST /api/v1/cases/search "
                              'with {"id_no": …} and the other filters in the body',
                         "按身份证号查询请在查询框中提交，身份证号不能出现在网址中")
    return _case_page(query)


@blp.post("/search")
@blp.arguments(CaseSearch)
@blp.response(200, CaseListPage)
def search_cases(query):
    """The case list's filters in a body, with a party's ID number (``id_no``, matched by its keyed
    hash) for the roles that may see personal data."""
    return _case_page(query)


def _case_page(query: dict) -> dict:
    principal = auth.current()
    svc = services()
    return case_page(_filters(principal, query, svc), query["page"], query["page_size"], principal)


def case_page(conditions: list, page: int, size: int, principal=None) -> dict:
    """One page of the cases meeting ``conditions``, newest first, as the case list shows them:
    within the ``principal``'s jurisdiction when one is given (else the caller put it among the
    conditions)."""
    svc = services()
    with svc.db.read() as session:
        def read(scope) -> tuple[int, list]:
            where = [scope, *conditions]
            # The workflow state (tens of kB a case) is not shown in a list: not read either.
            return (session.scalar(select(func.count()).select_from(Case).where(*where)),
                    session.execute(select(Case, DefinitionVersion.version).options(defer(Case.state))
                                    .join(DefinitionVersion, DefinitionVersion.id == Case.definition_id)
                                    .where(*where).order_by(Case.id.desc())
                                    .offset((page - 1) * size).limit(size)).all())
        total, rows = scoped_many(session, principal, read) if principal is not None else read(true())
        names = display_names(session, {case.first_handler for case, _ in rows if case.first_handler})
        items = [case_out(CaseView(case, [], version), names) for case, version in rows]
        tasks = _ready_tasks(session, [item["id"] for item in items])
        areas = _area_names(session, [item["jurisdiction"] for item in items])
        for item in items:
            item["tasks"] = [task_out(t, item["case_no"]) for t in tasks.get(item["id"], [])]
            item["overdue"] = any(t["overdue"] for t in item["tasks"])
            data = item.pop("data") or {}
            item["fields"] = {f: data[f] for f in LIST_FIELDS if isinstance(data.get(f), (str, int, float, bool))}
            item["channel"] = _channel(item["fields"])
            item["area"] = areas(item["jurisdiction"])
    return {"items": items, "total": total, "page": page, "page_size": size}


def _channel(values: dict):
    """A lead keeps its source as the channel; a case converted from a lead says 'lead' and may
    keep the source too (as the statistics count it)."""
    channel, source = values.get("channel"), values.get("source")
    return source if source and channel in (None, "", "lead") else channel


def _area_names(session, jurisdictions: list[str]):
    """jurisdiction -> [{kind, name, path}] of its units below the city, in one query."""
    prefixes = {p for j in jurisdictions for p in _prefixes(j)}
    units = {path: (kind, name) for path, kind, name in session.execute(
        select(OrgUnit.path, OrgUnit.kind, OrgUnit.name).where(OrgUnit.path.in_(sorted(prefixes))))} if prefixes else {}

    def names(jurisdiction: str) -> list[dict]:
        return [{"kind": units[p][0], "name": units[p][1], "path": p} for p in _prefixes(jurisdiction)
                if p in units and units[p][0] != "city"]
    return names


def _prefixes(path: str) -> list[str]:
    """'/a/b/c/' -> ['/a/', '/a/b/', '/a/b/c/']."""
    parts = [part for part in (path or "").split("/") if part]
    return ["/" + "/".join(parts[:n]) + "/" for n in range(1, len(parts) + 1)]


# handled_at: the level that took the case on (村级办理 = 'village': the town's monitoring view of the
# cases its villages settle without a town step, docs/processes/dispute_intake.md)
INDEXED_FILTERS = ("category", "category_l2", "wuxiao", "risk_level", "owner_level", "handled_at", "channel")


def _filters(principal, query: dict, svc) -> list:
    """Filters over the case row and the case_fields index (never a scan of case data)."""
    conditions = [getattr(Case, f) == query[f] for f in ("status", "process_key", "case_no") if query.get(f)]
    if query.get("q"):
        words = query["q"].strip()
        conditions.append(Case.title.contains(words, autoescape=True) | Case.case_no.contains(words, autoescape=True))
    if query.get("area"):
        conditions.append(Case.jurisdiction.startswith(query["area"], autoescape=True))
    if query.get("created_from"):
        conditions.append(Case.created_at >= query["created_from"])
    if query.get("created_to"):
        conditions.append(Case.created_at < query["created_to"])
    wanted = [(f, str(query[f])) for f in INDEXED_FILTERS if query.get(f) not in (None, "") and f != "channel"]
    if query.get("channel"):  # a lead's source counts as its channel (hotline_12345, police_110 …)
        conditions.append(exists().where(CaseField.case_id == Case.id, CaseField.name.in_(("channel", "source")),
                                         CaseField.value == query["channel"]))
    if query.get("id_no"):
        if not principal.roles & UNMASK_ROLES:
            raise ApiProblem(403, "searching by ID number needs a role that may see personal data",
                             "您的角色不能按身份证号查询")
        wanted.append(("party_hash", svc.vault.identity_hash(query["id_no"])))
    for name, value in wanted:
        conditions.append(exists().where(CaseField.case_id == Case.id, CaseField.name == name,
                                         CaseField.value == value))
    # Task conditions as one set of case ids from a task index, not a lookup per case: as an EXISTS,
    # SQLite probed ix_case_tasks_state_due (every overdue task) once per case, 22 s for the city's
    # overdue list at 100,000 cases (docs/performance.md "The full city on SQLite").
    if query.get("overdue"):
        conditions.append(Case.id.in_(select(CaseTask.case_id).where(CaseTask.state == "ready",
                                                                     CaseTask.due_at < svc.clock.now())))
    if query.get("mine"):
        conditions.append(mine(principal))
    if query.get("led"):  # 包案: the case has (had) a step in the leader's lane
        conditions.append(Case.id.in_(select(CaseTask.case_id).where(CaseTask.role == "leader")))
    return conditions


def mine(principal) -> Any:
    """My cases: I am their 包案领导 (the ``leader`` field) or 首办负责人, or my unit was sent one of
    their tasks by name (a department in a whistle)."""
    # One set of ids from three indexes: an OR of the three conditions made every case row be read.
    handled = select(Case.id).where(Case.first_handler == principal.username)
    led = select(CaseField.case_id).where(CaseField.name == "leader", CaseField.value == principal.username)
    sent_to_my_department = select(CaseTask.case_id).where(
        CaseTask.jurisdiction == principal.unit_path, CaseTask.role.in_(sorted(principal.roles)),
        exists().where(OrgUnit.path == principal.unit_path, OrgUnit.kind == "department"))
    return Case.id.in_(union(handled, led, sent_to_my_department))


def _ready_tasks(session, case_ids: list[int]) -> dict[int, list[CaseTask]]:
    grouped: dict[int, list[CaseTask]] = {}
    if case_ids:
        for task in session.scalars(select(CaseTask).where(CaseTask.case_id.in_(case_ids), CaseTask.state == "ready")
                                    .order_by(CaseTask.created_at)):
            grouped.setdefault(task.case_id, []).append(task)
    return grouped


@blp.get("/<int:case_id>")
@blp.response(200, CaseDetailOut)
def get_case(case_id: int):
    """One case with its ready tasks and its area's unit names."""
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        scoped_case(session, principal, case_id)
    out = case_out(svc.cases.view(case_id))
    with svc.db.read() as session:
        out["area"] = _area_names(session, [out["jurisdiction"]])(out["jurisdiction"])
        out["created_by_name"] = display_names(session, {out["created_by"]}).get(out["created_by"])
    return out


def _status_action(case_id: int, body: dict, command: str):
    principal = auth.current()  # @roles and @case_visible checked the rest before the body was read
    return case_out(getattr(services().cases, command)(case_id, principal.username, body["reason"]))


@blp.post("/<int:case_id>/cancel")
@roles(*SUPERVISORS)
@case_visible
@blp.arguments(CaseAction)
@blp.response(200, CaseOut)
def cancel_case(body, case_id: int):
    """Cancel a case (supervisors; a reason is required and audited)."""
    return _status_action(case_id, body, "cancel")


@blp.post("/<int:case_id>/suspend")
@roles(*SUPERVISORS)
@case_visible
@blp.arguments(CaseAction)
@blp.response(200, CaseOut)
def suspend_case(body, case_id: int):
    """Suspend a case: its tasks cannot be completed and its timers wait."""
    return _status_action(case_id, body, "suspend")


@blp.post("/<int:case_id>/resume")
@roles(*SUPERVISORS)
@case_visible
@blp.arguments(CaseAction)
@blp.response(200, CaseOut)
def resume_case(body, case_id: int):
    return _status_action(case_id, body, "resume")
