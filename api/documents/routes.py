"""Documents over HTTP: issue from a case or a step, list, download, attach the signed scan, and the
public verification answer (no login: it says only what the document's paper already shows)."""
from __future__ import annotations

from functools import wraps

from flask import send_file
from flask_smorest import Blueprint
from sqlalchemy import select

from api.core import auth
from api.core.guards import case_visible, scoped_case, visible_task, writer
from api.core.problems import ApiProblem
from api.core.services import services
from engine.definitions import offered_documents
from engine.errors import NotFound
from engine.files import FileStore
from engine.models import Case

from . import service
from .models import Document
from .rendering import verify_url
from .schemas import (DocumentIssue, DocumentOut, DocumentSign, TaskDocumentsOut, TemplateOut, VerificationOut,
                      VerifyQuery)

blp = Blueprint("documents", __name__, url_prefix="/api/v1", description="Documents (文书): issue, verify")
PUBLIC_PREFIX = "/api/v1/verify/"


def document_out(document: Document) -> dict:
    out = {c.name: getattr(document, c.name) for c in Document.__table__.columns}
    out["signed"] = document.signed_attachment_id is not None
    out["verify_url"] = verify_url(services().settings.public_url, document.code)
    return out


def template_out(row, meta: dict) -> dict:
    return {"key": row.key, "title": row.title, "version": row.version, "sha256": row.sha256,
            "deployed_at": row.deployed_at, "number_word": meta["number_word"], "issuer": meta.get("issuer", ""),
            "repeatable": bool(meta.get("repeatable")), "case_status": meta.get("case_status") or [],
            "required": meta.get("required") or []}


def _templates(session) -> dict[str, dict]:
    registry = services().registry.templates
    return {row.key: template_out(row, registry.load(session, row).meta) for row in registry.latest_versions(session)}


@blp.get("/document-templates")
@blp.response(200, TemplateOut(many=True))
def list_templates():
    """The deployed document templates (latest versions): what each needs and how it is numbered."""
    auth.current()
    with services().db.read() as session:
        return list(_templates(session).values())


@blp.get("/cases/<int:case_id>/documents")
@blp.response(200, DocumentOut(many=True))
def list_documents(case_id: int):
    """The case's documents, every version, oldest first."""
    principal = auth.current()
    svc = services()
    with svc.db.read() as session:
        scoped_case(session, principal, case_id)
        return [document_out(d) for d in session.scalars(select(Document).where(Document.case_id == case_id)
                                                         .order_by(Document.id))]


@blp.post("/cases/<int:case_id>/documents")
@writer
@case_visible
@blp.arguments(DocumentIssue)
@blp.response(201, DocumentOut)
def issue_document(body, case_id: int):
    """Issue a document from the case's data: numbered, stored as a case attachment, its sha256 sealed
    in the audit log. 422 names the data the template needs and the case lacks; reissuing makes a new
    version under the same number."""
    principal = auth.current()
    svc = services()
    if body["task_id"]:
        task = visible_task(body["task_id"])
        if task.case_id != case_id:
            raise ApiProblem(422, "the task is not a step of this case", "该步骤不属于本案",
                             errors={"task_id": "不属于本案"})
    return document_out(service.issue(svc, case_id, body["kind"], principal, body["task_id"], body["document_id"]))


def _visible_document(document_id: int) -> Document:
    principal = auth.current()
    with services().db.read() as session:
        document = session.get(Document, document_id)
        if document is None:
            raise NotFound(f"document {document_id} does not exist")
        scoped_case(session, principal, document.case_id)
        return document


def document_visible(view):
    """The route's ``document_id`` must belong to a case in the caller's jurisdiction (404 otherwise),
    checked before the body is read."""
    @wraps(view)
    def guarded(*args, **kwargs):
        _visible_document(kwargs["document_id"])
        return view(*args, **kwargs)
    return guarded


@blp.get("/documents/<int:document_id>")
@blp.response(200, DocumentOut)
def get_document(document_id: int):
    return document_out(_visible_document(document_id))


@blp.get("/documents/<int:document_id>/pdf")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf")
def download(document_id: int):
    """The PDF as issued (409 if the stored file no longer has its sealed sha256)."""
    document = _visible_document(document_id)
    store = FileStore(services().settings.attachments_dir)
    if store.read(document.sha256) is None:
        raise ApiProblem(409, "the stored PDF is missing or does not match its sealed sha256",
                         "文书文件缺失或已被改动，请联系管理员")
    return send_file(store.path(document.sha256), mimetype="application/pdf", as_attachment=True,
                     download_name=f"{document.title}-{document.number}-第{document.version}版.pdf")


@blp.post("/documents/<int:document_id>/signed")
@writer
@document_visible
@blp.arguments(DocumentSign)
@blp.response(200, DocumentOut)
def attach_signed(body, document_id: int):
    """Record the signed scan of a document (uploaded first as a case attachment): an audit event."""
    return document_out(service.sign(services(), document_id, body["attachment_id"], auth.current().username))


@blp.get("/tasks/<task_id>/documents")
@blp.response(200, TaskDocumentsOut)
def task_documents(task_id: str):
    """The documents a step offers and requires (its ``documents`` and ``documentsRequired``), and the
    case's documents of those kinds."""
    task = visible_task(task_id)
    svc = services()
    with svc.db.read() as session:
        case = session.get(Case, task.case_id)
        loaded = svc.registry.load(session, case.definition_id)
        props = service.step_properties(loaded, task.element_id)
        templates = _templates(session)
    required = service.required_for_task(svc, task, case)
    kinds = set(offered_documents(props)) | {r["kind"] for r in required}
    with svc.db.read() as session:
        documents = session.scalars(select(Document).where(Document.case_id == case.id, Document.kind.in_(kinds))
                                    .order_by(Document.id)).all() if kinds else []
    return {"offered": [templates[k] for k in offered_documents(props) if k in templates], "required": required,
            "documents": [document_out(d) for d in documents]}


@blp.get("/verify/<code>")
@blp.arguments(VerifyQuery, location="query")
@blp.response(200, VerificationOut)
def verify(query, code: str):
    """Public (no login): was a document with this code issued, when, by whom, is it the latest
    version, and — given the sha256 of the PDF in hand — is it that document. No personal data."""
    answer = service.verification(services(), code, query["sha256"])
    if answer is None:
        raise ApiProblem(404, f"no document has the verification code {code}", "未查到该编码的文书，请核对")
    return answer
