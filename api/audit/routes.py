"""Audit: a case's events, the case as of any event, verification, the offline bundle, and the
administrators' repairs (each with a reason, each an event)."""
from __future__ import annotations

import functools
import json
from pathlib import Path

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import func, select

from api.cases.routes import case_out
from api.cases.schemas import CaseOut
from api.core import auth
from api.core.guards import case_visible, roles, scoped_case, task_visible
from api.core.org import display_names
from api.core.pii import UNMASK_ROLES, masked, sealed_fields
from api.core.problems import ApiProblem
from api.core.services import services
from engine.files import FileStore
from engine.models import CaseEvent, CaseTask, DefinitionVersion
from engine.verify import case_history, export_bundle, field_labels, field_options, process_diagrams, verify_in_db

from .schemas import (AuditEventPage, EventQuery, FieldLabelsOut, HistoryOut, HistoryQuery, PersonalDataOut,
                      PersonalDataQuery, RepairCorrectData, RepairMigrate, RepairReason, RepairRewind,
                      TrailWithDiagramOut, VerifyOut)


blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit and repairs")

REPAIRERS = ("admin",)


@blp.get("/cases/<int:case_id>/events")
@blp.arguments(EventQuery, location="query")
@blp.response(200, AuditEventPage)
def list_events(query, case_id: int):
    """The case's append-only event log, oldest first, with each event's hash."""
    principal = auth.current()
    svc = services()
    page, size = query["page"], query["page_size"]
    with svc.db.read() as session:
        scoped_case(session, principal, case_id)
        total = session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id))
        rows = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)
                               .offset((page - 1) * size).limit(size)).all()
        names = display_names(session, {e.actor for e in rows})
        items = [{**{c: getattr(e, c) for c in ("seq", "type", "actor", "at", "prev_hash", "hash")},
                  "actor_name": names.get(e.actor), "payload": masked(e.payload)} for e in rows]
        return {"items": items, "total": total, "page": page, "page_size": size}


@blp.get("/cases/<int:case_id>/history")
@blp.arguments(HistoryQuery, location="query")
@blp.response(200, HistoryOut)
def history(query, case_id: int):
    """The case as of event ``at``: data, open tasks, the path taken and who did what (replayed)."""
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        case = scoped_case(session, principal, case_id)
        result = case_history(session, svc.registry, svc.cases.script_engine, case, query["at"])
    result["data"] = masked(result["data"])
    return result


@blp.get("/cases/<int:case_id>/trail")
@blp.response(200, TrailWithDiagramOut(many=True))
def case_trail(case_id: int):
    """Each process the case went through (its own first, then the ones it called), with the elements
    completed and active now, and the diagram as deployed with the case's version — for the case page."""
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        case = scoped_case(session, principal, case_id)
        version = session.get(DefinitionVersion, case.definition_id)
        result = case_history(session, svc.registry, svc.cases.script_engine, case, at=1 << 62)
        diagrams = process_diagrams(svc.registry.files(session, version))
    return [{**entry, "version": version.version, "xml": diagrams.get(entry["process_key"], "")}
            for entry in result["trail"]]


@blp.get("/cases/<int:case_id>/labels")
@blp.response(200, FieldLabelsOut)
def case_labels(case_id: int):
    """What the case's data fields are called on its forms (``{"address": "纠纷发生地点", …}``) and
    what their coded values mean (``{"channel": {"grid_patrol": "网格排查"}}``), so a screen can show
    the case data as people filled it in; fields the processes compute are named by
    workflows/data_labels.json."""
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        case = scoped_case(session, principal, case_id)
        files = svc.registry.files(session, session.get(DefinitionVersion, case.definition_id))
    computed = _data_labels(svc.settings.workflows_dir)
    labels = {name: entry["title"] for name, entry in computed.items() if entry.get("title")}
    labels.update(field_labels(files))
    options = {name: dict(entry["options"]) for name, entry in computed.items() if entry.get("options")}
    for name, named in field_options(files).items():
        options[name] = {**options.get(name, {}), **named}
    return {"labels": labels, "options": options}


@functools.cache
def _data_labels(workflows_dir: Path) -> dict[str, dict]:
    path = workflows_dir / "data_labels.json"
    return json.loads(path.read_text(encoding="utf-8"))["fields"] if path.exists() else {}


@blp.get("/cases/<int:case_id>/personal-data")
@roles(*UNMASK_ROLES)
@case_visible
@blp.arguments(PersonalDataQuery, location="query")
@blp.response(200, PersonalDataOut)
def personal_data(query, case_id: int):
    """The real ID numbers and phones of a case, for roles whose work needs them; every read is
    recorded in the case's audit log with its reason."""
    principal = auth.current()
    if not principal.roles & UNMASK_ROLES:
        raise ApiProblem(403, "your role does not need the parties' personal data", "您的角色无权查看个人敏感信息")
    svc = services()
    with svc.db.read() as session:
        case = scoped_case(session, principal, case_id)
    fields = sealed_fields(case.data)
    values = svc.vault.unseal(case.data)
    revealed = {path: _at(values, path) for path in fields}
    svc.cases.annotate(case_id, principal.username, "personal_data_viewed",
                       {"fields": fields, "reason": query["reason"]})
    return {"case_no": case.case_no, "values": revealed}


def _at(data, path: str):
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


@blp.post("/cases/<int:case_id>/verify")
@blp.response(200, VerifyOut)
def verify(case_id: int):
    """Check the hash chain, replay the case, check its stored documents: {ok, events, head, first_bad_event?}."""
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        case = scoped_case(session, principal, case_id)
        files = FileStore(svc.settings.attachments_dir)
        return verify_in_db(session, svc.registry, svc.cases.script_engine, case, files).as_dict()


@blp.get("/cases/<int:case_id>/audit-bundle")
@blp.response(200, {"type": "object"}, content_type="application/json")
def bundle(case_id: int):
    """One file with the events, every definition version used and the chain head; verify it
    offline with `cunliao audit verify --bundle FILE`."""
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        case = scoped_case(session, principal, case_id)
        content = export_bundle(session, svc.registry, case, svc.clock.now())
    return Response(json.dumps(content, ensure_ascii=False), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="{case.case_no}-audit.json"'})


def _repair(case_id: int, command):
    """Admins only, within their jurisdiction; ``command(cases, actor)`` runs the repair."""
    principal = auth.current()  # @roles and @case_visible checked the rest before the body was read
    return case_out(command(services().cases, principal.username))


@blp.post("/cases/<int:case_id>/repairs/correct-data")
@roles(*REPAIRERS)
@case_visible
@blp.arguments(RepairCorrectData)
@blp.response(200, CaseOut)
def correct_data(body, case_id: int):
    """Correct case data (admins; the reason is recorded)."""
    return _repair(case_id, lambda cases, actor: cases.correct_data(case_id, body["changes"], actor, body["reason"]))


@blp.post("/cases/<int:case_id>/repairs/retry")
@roles(*REPAIRERS)
@case_visible
@blp.arguments(RepairReason)
@blp.response(200, CaseOut)
def retry(body, case_id: int):
    """Run the failed step of an incident again."""
    return _repair(case_id, lambda cases, actor: cases.retry(case_id, actor, body["reason"]))


@blp.post("/cases/<int:case_id>/repairs/rewind")
@roles(*REPAIRERS)
@case_visible
@blp.arguments(RepairRewind)
@blp.response(200, CaseOut)
def rewind(body, case_id: int):
    """Put the case back as it was before event ``to_seq``."""
    return _repair(case_id, lambda cases, actor: cases.rewind(case_id, body["to_seq"], actor, body["reason"]))


@blp.post("/cases/<int:case_id>/repairs/migrate")
@roles(*REPAIRERS)
@case_visible
@blp.arguments(RepairMigrate)
@blp.response(200, CaseOut)
def migrate(body, case_id: int):
    """Move the case to another version of its process (refused if its history does not fit)."""
    return _repair(case_id, lambda cases, actor: cases.migrate(case_id, body["to_version"], actor, body["reason"]))


@blp.post("/tasks/<task_id>/skip")
@roles(*REPAIRERS)
@task_visible
@blp.arguments(RepairReason)
@blp.response(200, CaseOut)
def skip(body, task_id: str):
    """Skip a ready task (admins; the reason is recorded)."""
    principal = auth.require_role(*REPAIRERS)
    svc = services()
    with svc.db.read() as session:
        row = session.get(CaseTask, task_id)
        if row is not None:
            scoped_case(session, principal, row.case_id)
    return case_out(svc.cases.skip_task(task_id, principal.username, body["reason"]))
