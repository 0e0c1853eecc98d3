"""Process definitions: deploy a bundle, list keys, read a version with its XML; and what the
browser designer needs besides: validate without deploying, the deployed forms, the SLA keys and
the roles a lane may name."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from flask import request
from flask_smorest import Blueprint
from sqlalchemy import select

from api.core import auth
from api.core.problems import ApiProblem
from api.core.services import services
from engine.definitions import SourceFile
from engine.models import SlaRule

from .schemas import (DefinitionFormDetail, DefinitionFormOut, DefinitionRoleOut, DefinitionSlaKeyOut,
                      DefinitionValidateResponse, DefinitionVersionDetail, DefinitionVersionOut, DeployResponse)

blp = Blueprint("definitions", __name__, url_prefix="/api/v1/definitions", description="Process definitions")

DEPLOYERS = ("designer", "admin")
MULTIPART = {"requestBody": {"content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}}


@blp.post("")
@blp.response(201, DeployResponse)
@blp.doc(**MULTIPART)
def deploy():
    """Deploy .bpmn, .dmn and .schema.json files; unchanged processes keep their version.

    Files not sent (forms, decisions, called processes) come from the latest deployed versions. Forms
    sent alone make new versions of the latest processes that use them.

    Answers 422 with every validation error ({file, element_id, line, message}) when any file is bad.
    """
    principal = auth.require_role(*DEPLOYERS)
    files = _uploads()
    svc = services()
    with svc.db.write() as session, session.begin():
        deployed = svc.registry.deploy(session, files, principal.username, svc.clock.now())
    return {"deployed": [{"key": d.key, "version": d.version, "created": d.created} for d in deployed]}


def _uploads() -> list[SourceFile]:
    uploads = request.files.getlist("files")
    if not uploads:
        raise ApiProblem(400, "send the files as multipart/form-data under the field name 'files'",
                         "请选择要部署的文件")
    return [SourceFile(upload.filename or "unnamed", upload.read()) for upload in uploads]


@blp.post("/validate")
@blp.response(200, DefinitionValidateResponse)
@blp.doc(**MULTIPART)
def validate():
    """Run every deployment check on the files and deploy nothing.

    The files are checked against the latest deployed versions (forms, decisions and called
    processes not sent come from there), exactly as a deployment would. Answers 422 with the same
    list ({file, element_id, line, message}) as ``POST /definitions``.
    """
    auth.require_role(*DEPLOYERS)
    files = _uploads()
    svc = services()
    with svc.db.read() as session:
        checked = svc.registry.validate(session, files)
    return {"ok": True, "processes": [{"key": p.key, "name": p.name, "latest_version": latest, "changed": changed}
                                      for p, latest, changed in checked]}


def _form_rows(session) -> dict[str, dict]:
    return services().registry.deployed_forms(session)


def _form_out(key: str, entry: dict, schema: dict) -> dict:
    return {"key": key, "title": schema.get("title") if isinstance(schema, dict) else None, "file": entry["name"],
            "sha256": entry["sha256"], "used_by": sorted(set(entry["used_by"]))}


@blp.get("/forms")
@blp.response(200, DefinitionFormOut(many=True))
def list_forms():
    """The forms of the latest deployed versions, with the processes that use them."""
    auth.current()
    svc = services()
    with svc.db.read() as session:
        rows = _form_rows(session)
        return [_form_out(key, entry, json.loads(svc.registry.form_content(session, entry["sha256"])))
                for key, entry in sorted(rows.items())]


@blp.get("/forms/<key>")
@blp.response(200, DefinitionFormDetail)
def get_form(key: str):
    """One deployed form with its JSON Schema."""
    auth.current()
    svc = services()
    with svc.db.read() as session:
        entry = _form_rows(session).get(key)
        if entry is None:
            raise ApiProblem(404, f"no deployed process uses a form '{key}'", "未找到该表单")
        source = svc.registry.form_content(session, entry["sha256"])
    schema = json.loads(source)
    return {**_form_out(key, entry, schema), "schema": schema,
            "source": source.decode("utf-8")}


@blp.get("/sla-keys")
@blp.response(200, DefinitionSlaKeyOut(many=True))
def list_sla_keys():
    """The SLA table's keys a user task's ``slaKey`` (or ``sla_due('…')``) may name, each with the rule
    in force now."""
    auth.require_role(*DEPLOYERS)
    svc = services()
    now = svc.clock.now()
    latest: dict[str, SlaRule] = {}
    with svc.db.read() as session:
        for rule in session.scalars(select(SlaRule).order_by(SlaRule.key, SlaRule.effective_from)):
            if rule.key not in latest or _aware(rule.effective_from) <= now:
                latest[rule.key] = rule
        return [{"key": r.key, "name": r.name, "duration": r.duration, "calendar": r.calendar}
                for r in latest.values()]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@blp.get("/roles")
@blp.response(200, DefinitionRoleOut(many=True))
def list_roles():
    """The roles a lane may name (workflows/roles.json), by code or by Chinese name."""
    auth.require_role(*DEPLOYERS)
    return [{k: entry.get(k, "") for k in ("code", "zh", "en", "level")} for entry in services().roles.entries]


@blp.get("")
@blp.response(200, DefinitionVersionOut(many=True))
def list_definitions():
    """Every deployed process key with its latest version."""
    auth.current()
    svc = services()
    with svc.db.read() as session:
        return svc.registry.latest_versions(session)


@blp.get("/<key>/versions")
@blp.response(200, DefinitionVersionOut(many=True))
def list_versions(key: str):
    auth.current()
    svc = services()
    with svc.db.read() as session:
        return svc.registry.versions(session, key)


@blp.get("/<key>/versions/<int:number>")
@blp.response(200, DefinitionVersionDetail)
def get_version(key: str, number: int):
    auth.current()
    svc = services()
    with svc.db.read() as session:
        version = svc.registry.version(session, key, number)
        main = svc.registry.main_file(session, version)
        return {**{c: getattr(version, c) for c in ("process_key", "version", "name", "sha256", "deployed_by",
                                                    "deployed_at", "files")},
                "xml": main.content.decode("utf-8"), "file": main.name}
