"""Process definitions: deploy a bundle, list keys, read a version with its XML."""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from engine.definitions import SourceFile

from .. import auth
from ..problems import ApiProblem
from ..schemas import DefinitionVersionDetail, DefinitionVersionOut, DeployResponse
from ..services import services

blp = Blueprint("definitions", __name__, url_prefix="/api/v1/definitions", description="Process definitions")

DEPLOYERS = ("designer", "admin")


@blp.post("")
@blp.response(201, DeployResponse)
@blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}})
def deploy():
    """Deploy .bpmn, .dmn and .schema.json files; unchanged processes keep their version.

    Answers 422 with every validation error ({file, element_id, line, message}) when any file is bad.
    """
    principal = auth.require_role(*DEPLOYERS)
    uploads = request.files.getlist("files")
    if not uploads:
        raise ApiProblem(400, "send the files as multipart/form-data under the field name 'files'",
                         "请选择要部署的文件")
    files = [SourceFile(upload.filename or "unnamed", upload.read()) for upload in uploads]
    svc = services()
    with svc.db.write() as session, session.begin():
        deployed = svc.registry.deploy(session, files, principal.username, svc.clock.now())
    return {"deployed": [{"key": d.key, "version": d.version, "created": d.created} for d in deployed]}


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
        xml = svc.registry.main_file(session, version).content.decode("utf-8")
        return {**{c: getattr(version, c) for c in ("process_key", "version", "name", "sha256", "deployed_by",
                                                    "deployed_at", "files")}, "xml": xml}
